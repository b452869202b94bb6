import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/** The egress IPs a connector stack binds its NAT gateways to. */
export interface EgressIpSource {
  /** One per NAT gateway, in gateway order. */
  readonly allocationIds: readonly string[];
  /** The public addresses of those allocations, in the same order: what 8x8 whitelists. */
  readonly publicIps: readonly string[];
}

export interface EgressIpsStackProps extends StackProps {
  /** Elastic IPs to hold: one per NAT gateway of the connector stack. 1–6. */
  readonly count: number;
}

/**
 * The connector's identity at 8x8: its Elastic IPs, alone in a small stack that nothing else
 * changes. The stack is termination-protected, each EIP is retained on delete and replace, and
 * their logical ids are pinned (`EgressIp1`, `EgressIp2`, …; a test holds them), so neither a
 * refactoring of the connector stack nor its deletion or replacement can release or re-allocate
 * an address.
 *
 * The connector stack reads them through named exports (`<stack>-EgressIp<n>-AllocationId` and
 * `-PublicIp`) with Fn::ImportValue, not a CDK cross-stack reference: the names never depend on
 * construct paths, an export cannot change or disappear while a stack imports it (so an edit here
 * that would replace an EIP fails instead of moving the connector to a new address), and a
 * connector stack destroyed and deployed again imports the same values. Changing `count` changes
 * the set of IPs 8x8 must whitelist.
 */
export class EgressIpsStack extends Stack {
  public readonly eips: readonly ec2.CfnEIP[];

  constructor(scope: Construct, id: string, props: EgressIpsStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    if (!Number.isInteger(props.count) || props.count < 1 || props.count > 6) {
      throw new Error(`EgressIpsStack: count must be 1–6 (one per NAT gateway), got ${props.count}`);
    }
    this.eips = Array.from({ length: props.count }, (_, i) => {
      const n = i + 1;
      const eip = new ec2.CfnEIP(this, `EgressIp${n}`, {
        domain: 'vpc',
        tags: [{ key: 'Name', value: `smpp-connector-egress-${n}` }],
      });
      // Pinned: a different logical id would be a different address.
      eip.overrideLogicalId(`EgressIp${n}`);
      eip.applyRemovalPolicy(RemovalPolicy.RETAIN);
      new CfnOutput(this, `EgressIp${n}AllocationId`, { value: eip.attrAllocationId, exportName: this.exportName(n, 'AllocationId') });
      new CfnOutput(this, `EgressIp${n}PublicIp`, { value: eip.attrPublicIp, exportName: this.exportName(n, 'PublicIp') });
      return eip;
    });
    new CfnOutput(this, 'EgressIps', {
      value: Fn.join(',', this.eips.map((e) => e.attrPublicIp)),
      description: 'Static egress IPs (NAT gateway EIPs): give these to 8x8 for whitelisting',
    });
  }

  /** The IPs as `consumer` imports them; `consumer` is deployed after this stack. */
  public importInto(consumer: Stack): EgressIpSource {
    consumer.addStackDependency(this, 'the NAT gateways use its Elastic IPs');
    const imported = (attribute: 'AllocationId' | 'PublicIp') => this.eips.map((_, i) => Fn.importValue(this.exportName(i + 1, attribute)));
    return { allocationIds: imported('AllocationId'), publicIps: imported('PublicIp') };
  }

  private exportName(n: number, attribute: 'AllocationId' | 'PublicIp'): string {
    return `${this.stackName}-EgressIp${n}-${attribute}`;
  }
}
