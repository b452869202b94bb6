import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { EgressNetwork } from '../../infra/constructs/egress-network.js';
import { EventConsumers } from '../../infra/constructs/event-consumers.js';
import { SmppConnector } from '../../infra/constructs/smpp-connector.js';
import { EgressIpsStack } from '../../infra/egress-ips-stack.js';

/** Props checks of the constructs themselves (no synth: they throw while the tree is built). */
function stack(): Stack {
  return new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'ap-southeast-1' } });
}

describe('SmppConnector props', () => {
  it('reports every invalid prop in one error, the bind budget included', () => {
    const s = stack();
    const vpc = new ec2.Vpc(s, 'Vpc', { natGateways: 0 });
    expect(() => new SmppConnector(s, 'C', { vpc, smppHost: 'smpp.8x8.com', tasks: 5, rxBinds: 0, trxBinds: 0, shutdownGraceMs: 200_000 })).toThrow(
      'invalid configuration:\n' +
        '  - SmppConnector: rxBinds + trxBinds must be at least 1 (receipts and MO would be lost)\n' +
        '  - SmppConnector: bind budget exceeded: 5 tasks × 1 binds per task = 5 binds, but the account allows 4' +
        ' — lower tasks or binds per task, or ask 8x8 for more binds and raise accountBinds\n' +
        '  - SmppConnector: shutdownGraceMs must be 0–110000 (stopTimeout = grace + 10 s, and ECS allows at most 120 s)',
    );
  });
});

describe('EgressNetwork props', () => {
  it('refuses a number of imported EIPs that does not match the NAT gateways', () => {
    expect(() => new EgressNetwork(stack(), 'N', { natGateways: 2, eipAllocationIds: ['eipalloc-0123456789abcdef0'] })).toThrow(
      'EgressNetwork: 1 EIP allocation ids for 2 NAT gateways; give one per gateway',
    );
  });
});

describe('EventConsumers props', () => {
  it('reports every invalid consumer in one error', () => {
    const s = stack();
    const eventBus = new events.EventBus(s, 'Bus');
    const lambdaArn = 'arn:aws:lambda:ap-southeast-1:123456789012:function:billing';
    expect(
      () =>
        new EventConsumers(s, 'C', {
          eventBus,
          consumers: [
            { name: 'billing', lambdaArn, statuses: ['DELIVERED'] },
            { name: 'billing', lambdaArn, retryAttempts: 186, maxEventAge: Duration.seconds(30) },
          ],
        }),
    ).toThrow(
      'invalid configuration:\n' +
        "  - EventConsumers: consumer billing: statuses must be non-empty and come with detailTypes ['SmsStatusChanged'] only (SmsReceived events have no status)\n" +
        '  - EventConsumers: consumer billing: the name is used twice\n' +
        '  - EventConsumers: consumer billing: retryAttempts must be 0–185\n' +
        '  - EventConsumers: consumer billing: maxEventAge must be 60 s – 24 h',
    );
  });
});

describe('EgressIpsStack props', () => {
  it('holds one to six EIPs (one per NAT gateway)', () => {
    expect(() => new EgressIpsStack(new App(), 'Ips', { count: 0 })).toThrow('EgressIpsStack: count must be 1–6 (one per NAT gateway), got 0');
  });
});
