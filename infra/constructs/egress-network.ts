import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface EgressNetworkProps {
  /** NAT gateways, one per AZ from the first; each has one Elastic IP: the egress IPs 8x8 whitelists. @default 2 */
  readonly natGateways?: number;
  /** @default 2 */
  readonly maxAzs?: number;
  /**
   * The Elastic IP allocations of the NAT gateways, one per gateway, in gateway order. They are
   * never created here: they live in the IP stack (or outside any stack, imported), so nothing
   * that changes this network can release or swap an address 8x8 has whitelisted.
   */
  readonly eipAllocationIds: readonly string[];
  /** @default '10.0.0.0/16' */
  readonly cidr?: string;
  /** Endpoints for SQS, DynamoDB, Secrets Manager, CloudWatch Logs, ECR and S3 (image layers). @default true */
  readonly vpcEndpoints?: boolean;
  /** Flow log retention. @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * VPC whose only way out is a fixed set of Elastic IPs: public subnets hold NAT gateways bound to
 * the EIPs, private subnets hold the tasks. The EIPs are the connector's identity at 8x8 (IP
 * whitelisting) and come from outside this construct (see {@link EgressNetworkProps.eipAllocationIds}).
 */
export class EgressNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  /** The EIP allocation ids bound to the NAT gateways, in gateway order. */
  public readonly eipAllocationIds: readonly string[];
  /** The NAT gateways' ids, in the same order (for their alarms). */
  public readonly natGatewayIds: readonly string[];
  /** Guards the interface endpoints: HTTPS in from whoever {@link allowEndpointsFrom} names, nothing else. */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: EgressNetworkProps) {
    super(scope, id);
    const natGateways = props.natGateways ?? 2;
    if (props.eipAllocationIds.length !== natGateways) {
      throw new Error(`EgressNetwork: ${props.eipAllocationIds.length} EIP allocation ids for ${natGateways} NAT gateways; give one per gateway`);
    }
    this.eipAllocationIds = props.eipAllocationIds;
    const natGatewayProvider = ec2.NatProvider.gateway({ eipAllocationIds: [...this.eipAllocationIds] });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.0.0.0/16'),
      maxAzs: props.maxAzs ?? 2,
      natGateways,
      natGatewayProvider,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Tasks', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // Nothing is attached to the default security group; restricting it would add a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
      flowLogs: {
        // Rejected packets only: enough to see traffic the task security group refuses, at little cost.
        Rejected: {
          trafficType: ec2.FlowLogTrafficType.REJECT,
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', {
              retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
              removalPolicy: RemovalPolicy.DESTROY,
            }),
          ),
        },
      },
    });

    this.natGatewayIds = natGatewayProvider.configuredGateways.map((g) => g.gatewayId);

    if (props.vpcEndpoints ?? true) {
      const tasks = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [tasks] });
      // ECR stores image layers in S3.
      this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [tasks] });
      this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        allowAllOutbound: false,
        description: 'Interface VPC endpoints: HTTPS from the connector tasks only',
      });
      const interfaces: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
        SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      };
      for (const [name, service] of Object.entries(interfaces)) {
        this.vpc.addInterfaceEndpoint(name, {
          service,
          subnets: tasks,
          privateDnsEnabled: true,
          securityGroups: [this.endpointSecurityGroup],
          open: false,
        });
      }
    }
  }

  /** Lets `peer` reach the interface endpoints over HTTPS (no-op without endpoints). */
  public allowEndpointsFrom(peer: ec2.IConnectable): void {
    this.endpointSecurityGroup?.connections.allowFrom(peer, ec2.Port.tcp(443), 'HTTPS from the connector tasks');
  }
}
