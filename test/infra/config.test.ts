import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../service/src/errors.js';
import {
  applyTaskOverride,
  deploymentLimits,
  ipStackNameOf,
  parseConnectorConfig,
  publishedStatuses,
  resolveAccount,
  stopTimeoutSeconds,
  type StackConfigInput,
} from '../../infra/config.js';
import { addConnectorStacks } from '../../infra/connector-app.js';
import { appWith, configuredStacks, stackConfig } from './fixtures.js';

/** The problems a configuration is rejected with (fails the test if it is accepted). */
function problemsOf(stacks: StackConfigInput[]): readonly string[] {
  try {
    parseConnectorConfig({ stacks });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('configuration was accepted');
}

describe('the committed configuration (cdk.json)', () => {
  it('is valid and defines Asia Pacific on smpp.8x8.com and Europe on smpp.8x8.uk', () => {
    const { stacks } = parseConnectorConfig({ stacks: configuredStacks });
    expect(stacks.map((s) => [s.name, s.region, s.smppHost])).toEqual([
      ['SmppConnector-ap', 'ap-southeast-1', 'smpp.8x8.com'],
      ['SmppConnector-eu', 'eu-west-1', 'smpp.8x8.uk'],
    ]);
  });

  it('fills the defaults of what it leaves out', () => {
    const [s] = parseConnectorConfig({ stacks: [{ name: 'X', account: '123456789012', region: 'eu-west-1', smppHost: 'smpp.8x8.uk' }] }).stacks;
    expect(s).toMatchObject({
      smppPort: 2776,
      smppTls: true,
      smppTlsMinVersion: 'TLSv1.3',
      txBinds: 1,
      rxBinds: 1,
      trxBinds: 0,
      tasks: 2,
      accountBinds: 4,
      natGateways: 2,
      eipAllocationIds: [],
      vpcEndpoints: true,
      shutdownGraceMs: 20_000,
      messageTtlDays: 30,
      finalStatusTimeoutHours: 72,
      consumers: [],
      eventArchiveDays: 30,
      storeLingerMs: 20,
    });
    expect(s && ipStackNameOf(s)).toBe('XIps');
  });

  it('puts the EIPs of SmppConnector-ap in SmppConnectorIps-ap, unless ipStackName says otherwise', () => {
    expect(ipStackNameOf({ name: 'SmppConnector-ap' })).toBe('SmppConnectorIps-ap');
    expect(ipStackNameOf({ name: 'SmppConnector-ap', ipStackName: 'Whitelisted-ap' })).toBe('Whitelisted-ap');
  });
});

describe('consumers (the users\' Lambdas on the bus)', () => {
  const arn = 'arn:aws:lambda:ap-southeast-1:123456789012:function:billing';

  it('fills the defaults: both detail types, every status, EventBridge\'s longest retries', () => {
    const [s] = parseConnectorConfig({ stacks: [stackConfig({ consumers: [{ name: 'billing', lambdaArn: arn }] })] }).stacks;
    expect(s?.consumers).toEqual([
      { name: 'billing', lambdaArn: arn, detailTypes: ['SmsStatusChanged', 'SmsReceived'], retryAttempts: 185, maxEventAgeSeconds: 86_400 },
    ]);
  });

  it('accepts an alias or version of the function', () => {
    expect(() => parseConnectorConfig({ stacks: [stackConfig({ consumers: [{ name: 'billing', lambdaArn: `${arn}:live` }] })] })).not.toThrow();
  });

  it('reports every problem of every consumer in one error', () => {
    const problems = problemsOf([
      stackConfig({
        account: '111122223333',
        consumers: [
          { name: 'billing', lambdaArn: arn.replace('123456789012', '111122223333'), detailTypes: ['SmsStatusChanged', 'SmsReceived'], statuses: ['DELIVERED'] },
          { name: 'Billing', lambdaArn: arn.replace('ap-southeast-1', 'eu-west-1').replace('123456789012', '111122223333') },
          { name: 'audit', lambdaArn: arn },
        ],
      }),
    ]);
    expect(problems).toEqual([
      'smppConnector.stacks[0] (SmppConnector-ap): consumers[0] (billing): statuses filter SmsStatusChanged events, which SmsReceived events would never match; give SmsReceived a consumer of its own',
      'smppConnector.stacks[0] (SmppConnector-ap): consumers[1] (Billing): the name is used twice (names are compared ignoring case)',
      'smppConnector.stacks[0] (SmppConnector-ap): consumers[1] (Billing): lambdaArn is in eu-west-1, but the stack is in ap-southeast-1 (EventBridge invokes functions of its own region only)',
      'smppConnector.stacks[0] (SmppConnector-ap): consumers[2] (audit): lambdaArn is in account 123456789012, but the stack is in 111122223333 (EventBridge invokes functions of its own account only)',
    ]);
  });

  it('reports malformed consumers with their path', () => {
    const problems = problemsOf([
      stackConfig({
        consumers: [
          { name: '1st', lambdaArn: 'billing', detailTypes: ['SmsSent' as never], statuses: ['SENT' as never], retryAttempts: 200, maxEventAgeSeconds: 10 },
        ],
      }),
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^smppConnector\.stacks\.0\.consumers\.0\.name: must be 1–48 letters/),
      'smppConnector.stacks.0.consumers.0.lambdaArn: must be a Lambda function ARN',
      expect.stringMatching(/^smppConnector\.stacks\.0\.consumers\.0\.detailTypes\.0: /),
      expect.stringMatching(/^smppConnector\.stacks\.0\.consumers\.0\.statuses\.0: /),
      expect.stringMatching(/^smppConnector\.stacks\.0\.consumers\.0\.retryAttempts: /),
      expect.stringMatching(/^smppConnector\.stacks\.0\.consumers\.0\.maxEventAgeSeconds: /),
    ]);
  });

  it('refuses an IP stack name that another stack already has', () => {
    expect(problemsOf([stackConfig(), stackConfig({ name: 'SmppConnector-eu', region: 'eu-west-1', smppHost: 'smpp.8x8.uk', ipStackName: 'SmppConnectorIps-ap' })])).toEqual([
      'smppConnector.stacks[1] (SmppConnector-eu): its IP stack name SmppConnectorIps-ap is already taken by another stack; set ipStackName',
    ]);
  });
});

describe('configuration validation', () => {
  it('refuses two stacks that bind with the same system_id (one region would get the other\'s receipts)', () => {
    const eu = { name: 'SmppConnector-eu', region: 'eu-west-1', smppHost: 'smpp.8x8.uk' };
    expect(problemsOf([stackConfig({ systemId: 'acme' }), stackConfig({ ...eu, systemId: 'acme' })])).toEqual([
      'smppConnector.stacks[1] (SmppConnector-eu): systemId acme is used by another stack; each region needs its own 8x8 account (see the README, One system_id per region)',
    ]);
    expect(() => parseConnectorConfig({ stacks: [stackConfig({ systemId: 'acme-ap' }), stackConfig({ ...eu, systemId: 'acme-eu' })] })).not.toThrow();
  });

  it('rejects a bind budget that does not fit, saying how many binds it needs', () => {
    expect(problemsOf([stackConfig({ tasks: 3 })])).toEqual([
      'smppConnector.stacks[0] (SmppConnector-ap): bind budget exceeded: 3 tasks × 2 binds per task = 6 binds, but the account allows 4' +
        ' — lower tasks or binds per task, or ask 8x8 for more binds and raise accountBinds',
    ]);
  });

  it('rejects deployment percentages that would open more binds than the account has during a rollout', () => {
    const [problem] = problemsOf([stackConfig({ maxHealthyPercent: 150 })]);
    expect(problem).toContain('maxHealthyPercent 150 lets a deployment run 3 tasks × 2 binds = 6 binds, more than the account\'s 4; use at most 100');
  });

  it('rejects a minimum healthy percent that leaves no room to replace a task', () => {
    const [problem] = problemsOf([stackConfig({ minHealthyPercent: 100 })]);
    expect(problem).toContain('minHealthyPercent 100 with maxHealthyPercent 100 leaves ECS no room to replace a task');
  });

  it('reports every problem of every stack in one error', () => {
    const problems = problemsOf([
      stackConfig({ txBinds: 0, trxBinds: 0, natGateways: 3, eipAllocationIds: ['eipalloc-0123456789abcdef0'] }),
      stackConfig({ name: 'SmppConnector-ap', region: 'eu-west-1', memoryMiB: 512, smppTls: false }),
    ]);
    expect(problems).toEqual([
      'smppConnector.stacks[0] (SmppConnector-ap): txBinds + trxBinds must be at least 1 (nothing could be sent)',
      'smppConnector.stacks[0] (SmppConnector-ap): natGateways (3) cannot exceed maxAzs (2): one NAT gateway per AZ',
      'smppConnector.stacks[0] (SmppConnector-ap): eipAllocationIds lists 1 allocation(s) but natGateways is 3: give one per NAT gateway, or none to create them',
      'smppConnector.stacks[1] (SmppConnector-ap): the stack name is used twice',
      'smppConnector.stacks[1] (SmppConnector-ap): memoryMiB 512 is not valid for cpu 512 on Fargate (valid: 1024, 2048, 3072, 4096)',
      "smppConnector.stacks[1] (SmppConnector-ap): smppTls is false but smppPort 2776 is 8x8's TLS port; use 2775 for plaintext",
    ]);
  });

  it('reports malformed fields with their path, all at once', () => {
    const problems = problemsOf([
      stackConfig({ account: '42', smppPort: 70_000, eipAllocationIds: ['eip-1'], alarmEmail: 'ops', shutdownGraceMs: 115_000 }),
    ]);
    expect(problems).toEqual([
      'smppConnector.stacks.0.account: must be a 12-digit AWS account id',
      expect.stringMatching(/^smppConnector\.stacks\.0\.smppPort: /),
      'smppConnector.stacks.0.eipAllocationIds.0: must be an EIP allocation id (eipalloc-…)',
      'smppConnector.stacks.0.alarmEmail: must be an e-mail address',
      expect.stringMatching(/^smppConnector\.stacks\.0\.shutdownGraceMs: /),
    ]);
  });

  it('rejects unknown keys, so a typo does not silently fall back to a default', () => {
    expect(problemsOf([{ ...stackConfig(), taks: 1 } as StackConfigInput])).toEqual([expect.stringContaining('taks')]);
  });

  it('rejects a VPC range too small for its subnets', () => {
    expect(problemsOf([stackConfig({ vpcCidr: '10.1.0.0/20', maxAzs: 4 })])).toEqual([
      'smppConnector.stacks[0] (SmppConnector-ap): vpcCidr 10.1.0.0/20 is too small for 4 AZs (each needs a /24 and a /22)',
    ]);
  });

  it('rejects a credentials secret from another region', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:smpp-AbCdEf';
    expect(problemsOf([stackConfig({ credentialsSecretArn: arn })])).toEqual([
      'smppConnector.stacks[0] (SmppConnector-ap): credentialsSecretArn is in eu-west-1, but the stack is in ap-southeast-1 (the service reads it from its own region)',
    ]);
  });

  it('makes the app fail with the whole list before building any stack', () => {
    const app = appWith([stackConfig({ tasks: 5, rxBinds: 0 })]);
    expect(() => addConnectorStacks(app, {})).toThrow(
      /invalid configuration:\n {2}- .*rxBinds \+ trxBinds must be at least 1.*\n {2}- .*bind budget exceeded: 5 tasks × 1 binds per task = 5 binds/,
    );
    expect(app.node.children).toHaveLength(0);
  });
});

describe('consumers in another account than the credentials\' (placeholder account in cdk.json)', () => {
  it('are refused once the CLI has resolved the account, and not offline', () => {
    const consumers = [{ name: 'billing', lambdaArn: 'arn:aws:lambda:ap-southeast-1:111122223333:function:billing' }];
    expect(() => addConnectorStacks(appWith([stackConfig({ consumers })]), { CDK_DEFAULT_ACCOUNT: '999999999999' })).toThrow(
      'SmppConnector-ap: consumer billing: lambdaArn is in account 111122223333, but the stack deploys to 999999999999',
    );
    // Offline the account is the placeholder: nothing to compare with, and synth works.
    expect(() => addConnectorStacks(appWith([stackConfig({ consumers })]), {})).not.toThrow();
  });
});

describe('deployment limits from the bind budget', () => {
  const binds = { txBinds: 1, rxBinds: 1, trxBinds: 0, accountBinds: 4 };

  it('replaces the default 2 tasks one at a time without a third (max 100 %, min 50 %)', () => {
    expect(deploymentLimits({ ...binds, tasks: 2 }).limits).toEqual({ minHealthyPercent: 50, maxHealthyPercent: 100, peakTasks: 2, peakBinds: 4 });
  });

  it('starts the new task before stopping the old one when the budget has room for it', () => {
    expect(deploymentLimits({ ...binds, tasks: 1 }).limits).toEqual({ minHealthyPercent: 100, maxHealthyPercent: 200, peakTasks: 2, peakBinds: 4 });
  });

  it('stops the only task first when even one extra task does not fit', () => {
    expect(deploymentLimits({ ...binds, tasks: 1, accountBinds: 3 }).limits).toEqual({
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      peakTasks: 1,
      peakBinds: 2,
    });
  });

  it('rounds the way ECS does (max floors, min ceils) and stays within the budget', () => {
    for (let tasks = 1; tasks <= 12; tasks++) {
      for (let accountBinds = tasks; accountBinds <= 30; accountBinds++) {
        const { limits } = deploymentLimits({ tasks, txBinds: 1, rxBinds: 0, trxBinds: 0, accountBinds });
        if (limits === undefined) throw new Error(`no limits for ${tasks} tasks, ${accountBinds} binds`);
        const peak = Math.max(tasks, Math.floor((tasks * limits.maxHealthyPercent) / 100));
        const floor = Math.ceil((tasks * limits.minHealthyPercent) / 100);
        expect(peak).toBe(limits.peakTasks);
        expect(peak).toBeLessThanOrEqual(accountBinds);
        // ECS can always make progress: room above, or a task it may stop.
        expect(peak > tasks || floor < tasks).toBe(true);
      }
    }
  });

  it('allows zero tasks (first deploy, before the IPs are whitelisted)', () => {
    expect(deploymentLimits({ ...binds, tasks: 0 }).limits).toMatchObject({ peakTasks: 0, peakBinds: 0 });
  });
});

describe('small rules', () => {
  it('gives ECS 10 s beyond the drain deadline, never more than 120 s', () => {
    expect(stopTimeoutSeconds(20_000)).toBe(30);
    expect(stopTimeoutSeconds(110_000)).toBe(120);
  });

  it('replaces only the placeholder account with the caller\'s', () => {
    expect(resolveAccount({ account: '123456789012' }, { CDK_DEFAULT_ACCOUNT: '999999999999' })).toBe('999999999999');
    expect(resolveAccount({ account: '123456789012' }, {})).toBe('123456789012');
    expect(resolveAccount({ account: '111111111111' }, { CDK_DEFAULT_ACCOUNT: '999999999999' })).toBe('111111111111');
  });

  it('applies -c tasks=N to every stack, as a number', () => {
    const out = applyTaskOverride({ stacks: [stackConfig(), stackConfig({ name: 'B' })] }, '0') as { stacks: { tasks: number }[] };
    expect(out.stacks.map((s) => s.tasks)).toEqual([0, 0]);
  });
});

describe('opt-out (README, Opt-out)', () => {
  const arn = 'arn:aws:lambda:ap-southeast-1:123456789012:function:optouts';

  it('is off unless configured; one setting turns it on, with the service defaults for the rest', () => {
    const [off] = parseConnectorConfig({ stacks: [stackConfig()] }).stacks;
    expect(off?.optOut).toBeUndefined();
    const [on] = parseConnectorConfig({ stacks: [stackConfig({ optOut: { enabled: true } })] }).stacks;
    expect(on?.optOut).toEqual({ enabled: true, stopKeywords: ['STOP', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'STOPALL'], startKeywords: ['START', 'UNSTOP'], scope: 'sender' });
    expect(problemsOf([stackConfig({ optOut: { enabled: true, stopKeywords: ['STOP,END'], scope: 'some' as never } })])).toEqual([
      expect.stringMatching(/^smppConnector\.stacks\.0\.optOut\.stopKeywords\.0: must be 1–32 characters without commas/),
      expect.stringMatching(/^smppConnector\.stacks\.0\.optOut\.scope: /),
    ]);
  });

  it('sends OptedOut / OptedIn events to a consumer only when it names them', () => {
    const [s] = parseConnectorConfig({ stacks: [stackConfig({ consumers: [{ name: 'optouts', lambdaArn: arn, detailTypes: ['OptedOut', 'OptedIn'] }] })] }).stacks;
    expect(s?.consumers[0]?.detailTypes).toEqual(['OptedOut', 'OptedIn']);
  });
});

describe('publishStatuses (which status changes reach the bus)', () => {
  const arn = 'arn:aws:lambda:ap-southeast-1:123456789012:function:billing';
  const parse = (o: Partial<StackConfigInput>) => parseConnectorConfig({ stacks: [stackConfig(o)] }).stacks[0]!;

  it('publishes every status by default, a given list, or the union of what the consumers subscribe to', () => {
    expect(publishedStatuses(parse({}))).toBeUndefined();
    expect(publishedStatuses(parse({ publishStatuses: ['DELIVERED', 'FAILED'] }))).toEqual(['DELIVERED', 'FAILED']);
    const consumers = [
      { name: 'a', lambdaArn: arn, detailTypes: ['SmsStatusChanged' as const], statuses: ['UNDELIVERED' as const] },
      { name: 'b', lambdaArn: `${arn}:live`, detailTypes: ['SmsStatusChanged' as const], statuses: ['DELIVERED' as const, 'UNDELIVERED' as const] },
    ];
    expect(publishedStatuses(parse({ publishStatuses: 'consumers', consumers }))).toEqual(['DELIVERED', 'UNDELIVERED']);
    // A consumer of every status, or no status consumer at all (the final statuses still reach the bus and its archive).
    expect(publishedStatuses(parse({ publishStatuses: 'consumers', consumers: [{ name: 'c', lambdaArn: arn }] }))).toBeUndefined();
    expect(publishedStatuses(parse({ publishStatuses: 'consumers' }))).toEqual(['DELIVERED', 'UNDELIVERED', 'EXPIRED', 'REJECTED', 'DELETED', 'UNKNOWN', 'FAILED', 'INVALID']);
  });

  it('refuses a consumer that subscribes to a status the stack would not publish', () => {
    expect(
      problemsOf([stackConfig({ publishStatuses: ['DELIVERED'], consumers: [{ name: 'a', lambdaArn: arn, detailTypes: ['SmsStatusChanged'], statuses: ['DELIVERED', 'EXPIRED'] }] })]),
    ).toEqual(['smppConnector.stacks[0] (SmppConnector-ap): consumers[0] (a): subscribes to EXPIRED, which publishStatuses does not publish']);
  });
});

