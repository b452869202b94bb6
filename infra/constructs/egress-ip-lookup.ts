import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

export interface EgressIpLookupProps {
  /** Allocation ids of existing Elastic IPs (`eipAllocationIds`), in NAT gateway order. */
  readonly allocationIds: readonly string[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The public addresses of imported Elastic IPs, read at deploy time with `ec2:DescribeAddresses`
 * (one call per allocation, so the order is the gateways' order), for the `EgressIps` output.
 * Looked up rather than typed into cdk.json next to the ids: an address that did not match its
 * allocation would be handed to 8x8 without anything noticing, and the call also fails the deploy
 * early when an allocation id does not exist in the account and region.
 */
export class EgressIpLookup extends Construct {
  /** The addresses, in the order of `allocationIds`. */
  public readonly publicIps: readonly string[];

  constructor(scope: Construct, id: string, props: EgressIpLookupProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    // Its own role and log group, instead of the AWSLambdaBasicExecutionRole managed policy.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Reads the addresses of the imported egress EIPs',
    });
    logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');
    // DescribeAddresses has no resource-level permissions.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeAddresses'], resources: ['*'] }));

    this.publicIps = props.allocationIds.map((allocationId, i) => {
      const call: cr.AwsSdkCall = {
        service: 'EC2',
        action: 'describeAddresses',
        parameters: { AllocationIds: [allocationId] },
        physicalResourceId: cr.PhysicalResourceId.of(allocationId),
        outputPaths: ['Addresses.0.PublicIp'],
      };
      const lookup = new cr.AwsCustomResource(this, `Address${i + 1}`, {
        onCreate: call,
        onUpdate: call,
        role,
        logGroup,
        installLatestAwsSdk: false,
      });
      return lookup.getResponseField('Addresses.0.PublicIp');
    });
  }
}
