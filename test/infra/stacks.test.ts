import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { addConnectorStacks } from '../../infra/connector-app.js';
import type { SmppConnectorStack } from '../../infra/smpp-connector-stack.js';
import { MESSAGE_INDEXES } from '../../service/src/aws/table.js';
import { loadConfig } from '../../service/src/config.js';
import { startHealthServer } from '../../service/src/health.js';
import { appWith, configuredStacks, stackConfig } from './fixtures.js';

/**
 * Offline synth of every configured region plus one variant with imported EIPs and an imported
 * secret. All stacks live in one App, synthesized once (the Lambda is bundled by esbuild once per
 * stack); the cdk-nag plugin is registered as in infra/app.ts, so a finding would fail the synth.
 */
const IMPORTED_EIPS = ['eipalloc-0123456789abcdef0', 'eipalloc-0fedcba9876543210'];
const IMPORTED_SECRET = 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:smpp/credentials';
const BILLING = 'arn:aws:lambda:ap-southeast-1:123456789012:function:billing';
const INBOX = 'arn:aws:lambda:ap-southeast-1:123456789012:function:inbox:live';
const variant = stackConfig({
  name: 'SmppConnector-imported',
  eipAllocationIds: IMPORTED_EIPS,
  credentialsSecretArn: IMPORTED_SECRET,
  tasks: 1,
  vpcEndpoints: false,
  alarmEmail: 'ops@example.com',
  shutdownGraceMs: 45_000,
  consumers: [
    { name: 'billing', lambdaArn: BILLING, detailTypes: ['SmsStatusChanged'], statuses: ['DELIVERED', 'UNDELIVERED'] },
    { name: 'inbox', lambdaArn: INBOX, detailTypes: ['SmsReceived'], retryAttempts: 10, maxEventAgeSeconds: 3600 },
  ],
  eventArchiveDays: 7,
  optOut: { enabled: true, stopKeywords: ['STOP', 'ARRET'], scope: 'all' },
  // An upgrade from a stack without indexes: one index per deploy.
  indexes: ['byRecipient'],
  publishStatuses: 'consumers',
  storeLingerMs: 100,
});

const app = appWith([...configuredStacks, variant]);
const connectors = new Map<string, SmppConnectorStack>(addConnectorStacks(app, {}).map((s) => [s.stackName, s]));
/** Every stack of the app: the connectors and the IP stacks beside them. */
const stacks = new Map<string, Stack>(app.node.children.filter((c): c is Stack => Stack.isStack(c)).map((s) => [s.stackName, s]));
const templates = new Map<string, Template>();
/** A failed synth (e.g. a cdk-nag finding) fails every template test; the nag test below names the findings. */
let synthError: unknown;

function template(name: string): Template {
  if (synthError !== undefined) throw synthError;
  const t = templates.get(name);
  if (t === undefined) throw new Error(`no template for ${name}`);
  return t;
}

interface Resource {
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

/** [logical id, resource] of every resource of one type, in template order. */
function resources(t: Template, type: string): [string, Resource][] {
  return Object.entries(t.findResources(type)) as [string, Resource][];
}

/** The one resource of a type, by a part of its logical id. */
function only(t: Template, type: string, idPart: string): Resource {
  const found = resources(t, type).filter(([id]) => id.includes(idPart));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]![1];
}

/** Actions of every statement of the policy whose logical id contains `idPart`, sorted. */
function policyActions(t: Template, idPart: string): string[][] {
  const policy = only(t, 'AWS::IAM::Policy', idPart);
  const doc = policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] };
  return doc.Statement.map((s) => [s.Action].flat().sort());
}

/** Exit code of `node -e script`. */
function nodeExitCode(script: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 10_000 }, (err) => {
      if (err === null) resolve(0);
      else if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
  });
}

beforeAll(() => {
  try {
    for (const [name, stack] of stacks) templates.set(name, Template.fromStack(stack));
  } catch (err) {
    synthError = err;
  }
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in any stack', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('does report what is not acknowledged (the check is live)', () => {
    const probe = new App();
    new sqs.Queue(new Stack(probe, 'Probe'), 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const rules = new AwsSolutionsChecks().validateScope(probe).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
  });
});

describe.each(configuredStacks.map((s) => [s.name, s.smppHost] as const))('%s', (name, host) => {
  const ipName = name.replace('SmppConnector-', 'SmppConnectorIps-');
  const region = configuredStacks.find((s) => s.name === name)!.region;
  const eipExports = (attribute: 'AllocationId' | 'PublicIp') => [1, 2].map((n) => ({ 'Fn::ImportValue': `${ipName}-EgressIp${n}-${attribute}` }));

  it('keeps the egress IPs in their own termination-protected stack, under pinned logical ids, retained', () => {
    expect(stacks.get(ipName)?.terminationProtection).toBe(true);
    const t = template(ipName);
    // A new logical id is a new address, which 8x8 has not whitelisted: these ids never change.
    expect(Object.keys(t.toJSON().Resources as object).filter((id) => id !== 'CDKMetadata')).toEqual(['EgressIp1', 'EgressIp2']);
    for (const [, eip] of resources(t, 'AWS::EC2::EIP')) {
      expect(eip.DeletionPolicy).toBe('Retain');
      expect(eip.UpdateReplacePolicy).toBe('Retain');
      expect(eip.Properties.Domain).toBe('vpc');
    }
    t.hasOutput('EgressIps', { Value: { 'Fn::Join': [',', [1, 2].map((n) => ({ 'Fn::GetAtt': [`EgressIp${n}`, 'PublicIp'] }))] } });
    for (const n of [1, 2]) {
      for (const attribute of ['AllocationId', 'PublicIp']) {
        t.hasOutput('*', { Value: { 'Fn::GetAtt': [`EgressIp${n}`, attribute] }, Export: { Name: `${ipName}-EgressIp${n}-${attribute}` } });
      }
    }
  });

  it("binds the NAT gateways to the IP stack's exported allocations and holds no EIP itself (deleting it releases nothing)", () => {
    const t = template(name);
    t.resourceCountIs('AWS::EC2::EIP', 0);
    expect(resources(t, 'AWS::EC2::NatGateway').map(([, nat]) => nat.Properties.AllocationId)).toEqual(eipExports('AllocationId'));
    // `cdk deploy SmppConnector-xx` deploys the IP stack first.
    expect(connectors.get(name)!.dependencies.map((s) => s.stackName)).toEqual([ipName]);
  });

  it('outputs the egress IP addresses for 8x8, the allocation ids for a later import, and what producers and readers use', () => {
    const t = template(name);
    t.hasOutput('EgressIps', { Value: { 'Fn::Join': [',', eipExports('PublicIp')] } });
    t.hasOutput('EgressIpAllocationIds', { Value: { 'Fn::Join': [',', eipExports('AllocationId')] } });
    const arnOf = (type: string, idPart: string) => ({ 'Fn::GetAtt': [resources(t, type).find(([id]) => id.includes(idPart))![0], 'Arn'] });
    t.hasOutput('QueueArn', { Value: arnOf('AWS::SQS::Queue', 'ConnectorQueue') });
    t.hasOutput('TableArn', { Value: arnOf('AWS::DynamoDB::Table', 'ConnectorMessages') });
    t.hasOutput('EventBusArn', { Value: arnOf('AWS::Events::EventBus', 'StreamPublisherBus') });
    t.hasOutput('PriorityQueueArn', { Value: arnOf('AWS::SQS::Queue', 'ConnectorPriorityQueue') });
    for (const output of ['QueueUrl', 'PriorityQueueUrl', 'PriorityDeadLetterQueueUrl', 'TableName', 'SecretArn', 'EventBusName', 'SendJobsPolicyArn', 'ReadStatusPolicyArn', 'ClusterName', 'ServiceName', 'ServiceLogGroup', 'AlarmTopicArn']) t.hasOutput(output, {});
  });

  it('lets a first deploy succeed while the SMSC refuses every bind: only tasks that crash or hang fail a deployment', () => {
    const t = template(name);
    const service = only(t, 'AWS::ECS::Service', 'Service').Properties;
    // No load balancer health check, and no deployment alarm: NoBoundBinds as one would roll back every
    // deployment made before 8x8 whitelists the IPs.
    expect(service.LoadBalancers ?? []).toEqual([]);
    expect(service.DeploymentConfiguration).not.toHaveProperty('Alarms');
    // The circuit breaker counts only tasks that stop or fail liveness (/healthz, tested below).
    expect(service.DeploymentConfiguration).toMatchObject({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } });
    // Alarms notify; none acts on the service.
    const topic = resources(t, 'AWS::SNS::Topic')[0]![0];
    for (const [, alarm] of resources(t, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.InsufficientDataActions).toBeUndefined();
    }
    // Should a first deploy fail all the same, CloudFormation rolls back this stack alone: the IPs live in the stack it depends on.
    t.resourceCountIs('AWS::EC2::EIP', 0);
    expect(connectors.get(name)!.dependencies.map((s) => s.stackName)).toEqual([ipName]);
  });

  it('lets CloudWatch alarms of this account, and the deployment-failure rule, publish to the alarm topic and use its key', () => {
    const t = template(name);
    const topic = resources(t, 'AWS::SNS::Topic')[0]![0];
    const [policy] = resources(t, 'AWS::SNS::TopicPolicy').map(([, p]) => p.Properties);
    expect(policy?.Topics).toEqual([{ Ref: topic }]);
    const statements = (policy?.PolicyDocument as { Statement: unknown[] }).Statement;
    // A topic policy replaces SNS's default one: without these nothing may publish (enforceSSL's deny stays).
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topic },
        Condition: {
          StringEquals: { 'aws:SourceAccount': '123456789012' },
          ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${region}:123456789012:alarm:*` },
        },
      }),
    );
    const rule = resources(t, 'AWS::Events::Rule').find(([id]) => id.includes('DeploymentFailed'))?.[0];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topic },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
      }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    const key = resources(t, 'AWS::KMS::Key').find(([id]) => id.includes('TopicKey'))![1];
    const keyStatements = (key.Properties.KeyPolicy as { Statement: { Principal?: { Service?: string }; Action: string[] }[] }).Statement;
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      expect(keyStatements.find((s) => s.Principal?.Service === service)?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    }
  });

  it('runs the tasks only in private subnets whose default route is a NAT gateway', () => {
    const t = template(name);
    const service = only(t, 'AWS::ECS::Service', 'Service');
    const vpcConfig = (service.Properties.NetworkConfiguration as { AwsvpcConfiguration: { AssignPublicIp: string; Subnets: { Ref: string }[] } })
      .AwsvpcConfiguration;
    expect(vpcConfig.AssignPublicIp).toBe('DISABLED');
    expect(vpcConfig.Subnets).toHaveLength(2);
    const associations = resources(t, 'AWS::EC2::SubnetRouteTableAssociation').map(([, a]) => a.Properties);
    const routes = resources(t, 'AWS::EC2::Route').map(([, r]) => r.Properties);
    for (const { Ref: subnet } of vpcConfig.Subnets) {
      const tags = (t.toJSON().Resources[subnet].Properties.Tags as { Key: string; Value: string }[]) ?? [];
      expect(tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Private' });
      const table = associations.find((a) => (a.SubnetId as { Ref: string }).Ref === subnet)?.RouteTableId;
      const defaultRoute = routes.find((r) => r.DestinationCidrBlock === '0.0.0.0/0' && JSON.stringify(r.RouteTableId) === JSON.stringify(table));
      expect(defaultRoute).toMatchObject({ NatGatewayId: { Ref: expect.stringContaining('NATGateway') } });
      expect(defaultRoute).not.toHaveProperty('GatewayId');
    }
  });

  it('lets the tasks out only to the SMPP port and HTTPS, and nothing in', () => {
    const t = template(name);
    const sg = only(t, 'AWS::EC2::SecurityGroup', 'TaskSecurityGroup');
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(sg.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'SMPP to the SMSC', FromPort: 2776, IpProtocol: 'tcp', ToPort: 2776 },
      { CidrIp: '0.0.0.0/0', Description: 'HTTPS to AWS APIs', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    // The interface endpoints accept HTTPS from the task security group only.
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ConnectorTaskSecurityGroup'), 'GroupId'] },
    });
    expect(resources(t, 'AWS::EC2::VPCEndpoint')).toHaveLength(7);
  });

  it('grants the task exactly what the service calls: consume the queue, the table items it writes, read the secret', () => {
    const t = template(name);
    expect(policyActions(t, 'TaskTaskRoleDefaultPolicy')).toEqual([
      ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
      // GetItem and BatchGetItem, PutItem, UpdateItem; TransactWriteItems is authorised per Put/Update; BatchExecuteStatement of INSERTs and UPDATEs by PartiQLInsert and PartiQLUpdate.
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
    ]);
    const doc = only(t, 'AWS::IAM::Policy', 'TaskTaskRoleDefaultPolicy').Properties.PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] };
    const table = resources(t, 'AWS::DynamoDB::Table')[0]![0];
    // The table only: no index, no stream.
    expect(doc.Statement[1]?.Resource).toEqual({ 'Fn::GetAtt': [table, 'Arn'] });
  });

  it('packages producer and status-reader access as two managed policies for the users\' own roles', () => {
    const t = template(name);
    const managed = (idPart: string) =>
      (only(t, 'AWS::IAM::ManagedPolicy', idPart).Properties.PolicyDocument as { Statement: unknown[] }).Statement;
    const arnOf = (type: string, idPart: string) => ({ 'Fn::GetAtt': [resources(t, type).find(([id]) => id.includes(idPart))![0], 'Arn'] });
    // SendMessage also authorises SendMessageBatch; the queue uses SQS-managed keys, so no KMS grant is needed.
    // Both queues: urgent jobs go to the priority queue (README, Priority lanes).
    expect(managed('SendJobs')).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: [arnOf('AWS::SQS::Queue', 'ConnectorPriorityQueue'), arnOf('AWS::SQS::Queue', 'ConnectorQueue')] },
    ]);
    expect(managed('ReadStatus')).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
        Resource: [
          arnOf('AWS::DynamoDB::Table', 'ConnectorMessages'),
          { 'Fn::Join': ['', [arnOf('AWS::DynamoDB::Table', 'ConnectorMessages'), '/index/byOriginator']] },
          { 'Fn::Join': ['', [arnOf('AWS::DynamoDB::Table', 'ConnectorMessages'), '/index/byRecipient']] },
        ],
      },
    ]);
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.SendJobsPolicyArn?.Value).toEqual({ Ref: resources(t, 'AWS::IAM::ManagedPolicy').find(([id]) => id.includes('SendJobs'))![0] });
    expect(outputs.ReadStatusPolicyArn?.Value).toEqual({ Ref: resources(t, 'AWS::IAM::ManagedPolicy').find(([id]) => id.includes('ReadStatus'))![0] });
  });

  it('packages what redrive and retry call as an operator policy: both DLQs, sending to both queues, reading and updating a message', () => {
    const t = template(name);
    const arnOf = (type: string, idPart: string) => ({ 'Fn::GetAtt': [resources(t, type).find(([id]) => id.includes(idPart))![0], 'Arn'] });
    expect((only(t, 'AWS::IAM::ManagedPolicy', 'OperatorPolicy').Properties.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        Resource: [arnOf('AWS::SQS::Queue', 'ConnectorDeadLetterQueue'), arnOf('AWS::SQS::Queue', 'ConnectorPriorityDeadLetterQueue')],
      },
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
        Resource: [arnOf('AWS::SQS::Queue', 'ConnectorPriorityQueue'), arnOf('AWS::SQS::Queue', 'ConnectorQueue')],
      },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: arnOf('AWS::DynamoDB::Table', 'ConnectorMessages') },
    ]);
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.OperatorPolicyArn?.Value).toEqual({ Ref: resources(t, 'AWS::IAM::ManagedPolicy').find(([id]) => id.includes('OperatorPolicy'))![0] });
    expect(outputs.DeadLetterQueueUrl?.Value).toEqual({ Ref: resources(t, 'AWS::SQS::Queue').find(([id]) => id.includes('ConnectorDeadLetterQueue'))![0] });
  });

  it('grants the execution role only image pull and its log stream', () => {
    expect(policyActions(template(name), 'TaskExecutionRoleDefaultPolicy')).toEqual([
      ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      ['ecr:GetAuthorizationToken'],
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
    ]);
  });

  it('grants the publisher exactly: its logs, PutEvents, the failure queue, the stream', () => {
    const t = template(name);
    expect(policyActions(t, 'StreamPublisherRoleDefaultPolicy')).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['events:PutEvents'],
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      ['dynamodb:ListStreams'],
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
    ]);
    // No AWS-managed policy on any role.
    for (const [, role] of resources(t, 'AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('sweeps for final statuses every 15 minutes, allowed exactly a Query of openByDeadline and UpdateItem on the table', () => {
    const t = template(name);
    const table = resources(t, 'AWS::DynamoDB::Table')[0]![0];
    const [fnId, fn] = resources(t, 'AWS::Lambda::Function').find(([id]) => id.includes('FinalStatusSweepFunction'))!;
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Timeout: 300,
      Environment: {
        Variables: { TABLE_NAME: { Ref: table }, MESSAGE_TTL_DAYS: '30', POWERTOOLS_SERVICE_NAME: name, POWERTOOLS_METRICS_NAMESPACE: 'SmppConnector' },
      },
    });
    const [ruleId, rule] = resources(t, 'AWS::Events::Rule').find(([id]) => id.includes('FinalStatusSweepSchedule'))!;
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED' });
    expect(rule.Properties.Targets).toMatchObject([{ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
    const doc = only(t, 'AWS::IAM::Policy', 'FinalStatusSweepRoleDefaultPolicy').Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] };
    expect(doc.Statement.map((st) => [st.Action].flat().sort())).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['dynamodb:Query'],
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
    ]);
    expect(doc.Statement[1]!.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/openByDeadline']] });
    expect(doc.Statement[2]!.Resource).toEqual({ 'Fn::GetAtt': [table, 'Arn'] });
    const alarm = resources(t, 'AWS::CloudWatch::Alarm').find(([id]) => id.includes('FinalStatusSweepErrors'))![1];
    expect(alarm.Properties).toMatchObject({
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Period: 900,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('creates only the indexes the config lists (one per deploy when upgrading), and keeps the sweep off until openByDeadline exists', () => {
    const t = template('SmppConnector-imported');
    const [[, table]] = resources(t, 'AWS::DynamoDB::Table') as [[string, { Properties: Record<string, unknown> }]];
    expect((table.Properties['GlobalSecondaryIndexes'] as { IndexName: string }[]).map((ix) => ix.IndexName)).toEqual(['byRecipient']);
    t.hasResourceProperties('AWS::Events::Rule', { Description: 'Runs the final-status sweep', State: 'DISABLED' });
    template(name).hasResourceProperties('AWS::Events::Rule', { Description: 'Runs the final-status sweep', State: 'ENABLED' });
  });

  it('indexes messages by recipient, MOs by originator and open messages by deadline: sparse, keys only, as the local table', () => {
    const [[, table]] = resources(template(name), 'AWS::DynamoDB::Table') as [[string, { Properties: Record<string, unknown> }]];
    const indexes = table.Properties['GlobalSecondaryIndexes'] as { IndexName: string; KeySchema: { AttributeName: string; KeyType: string }[]; Projection: unknown }[];
    expect(Object.fromEntries(indexes.map((ix) => [ix.IndexName, [ix.KeySchema.map((k) => `${k.KeyType}:${k.AttributeName}`), ix.Projection]]))).toEqual(
      Object.fromEntries(
        Object.entries(MESSAGE_INDEXES).map(([n, ix]) => [n, [[`HASH:${ix.partitionKey.name}`, `RANGE:${ix.sortKey.name}`], { ProjectionType: 'KEYS_ONLY' }]]),
      ),
    );
    expect(Object.keys(MESSAGE_INDEXES)).toEqual(['byRecipient', 'byOriginator', 'openByDeadline']);
  });

  it('keeps status in an on-demand, encrypted, PITR table keyed by id, with TTL and a new-and-old-images stream', () => {
    template(name).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('redrives outbound and priority jobs each to an encrypted DLQ of its own after 10 receives, and enforces TLS on the queues', () => {
    const t = template(name);
    const queue = (idPart: string) => resources(t, 'AWS::SQS::Queue').find(([id]) => id.includes(idPart))!;
    for (const [queueId, dlqIdPart] of [['ConnectorQueue', 'ConnectorDeadLetterQueue'], ['ConnectorPriorityQueue', 'ConnectorPriorityDeadLetterQueue']] as const) {
      const dlqId = queue(dlqIdPart)[0];
      expect(queue(queueId)[1].Properties).toMatchObject({
        VisibilityTimeout: 15,
        MessageRetentionPeriod: 4 * 86_400,
        ReceiveMessageWaitTimeSeconds: 20,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 },
      });
      expect(queue(dlqIdPart)[1].Properties).toMatchObject({ MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
    }
    const policies = resources(t, 'AWS::SQS::QueuePolicy');
    // The two queues, their two DLQs, and the publisher's failure queue.
    expect(policies).toHaveLength(5);
    for (const [, policy] of policies) {
      expect(policy.Properties.PolicyDocument).toMatchObject({
        Statement: [{ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
      });
    }
  });

  it('runs the service within the bind budget during deployments, with rollback', () => {
    const t = template(name);
    t.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 2,
      LaunchType: 'FARGATE',
      AvailabilityZoneRebalancing: 'DISABLED',
      DeploymentConfiguration: {
        MaximumPercent: 100,
        MinimumHealthyPercent: 50,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
    });
    t.hasOutput('BindBudget', { Value: '2 tasks, peak 2 during deployments = 4/4 binds' });
  });

  it('gives the container its settings, a health check and a stop timeout beyond the drain', () => {
    const t = template(name);
    const task = only(t, 'AWS::ECS::TaskDefinition', 'Task');
    const [container] = task.Properties.ContainerDefinitions as Record<string, unknown>[];
    expect(container).toMatchObject({
      StopTimeout: 30,
      ReadonlyRootFilesystem: true,
      LinuxParameters: { InitProcessEnabled: true },
      MountPoints: [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }],
      LogConfiguration: { LogDriver: 'awslogs' },
      HealthCheck: { Command: ['CMD', 'node', '-e', expect.any(String)], StartPeriod: 30 },
    });
    const env = Object.fromEntries((container!.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({
      SMPP_HOST: host,
      SMPP_PORT: '2776',
      SMPP_TLS: 'true',
      SMPP_TLS_MIN_VERSION: 'TLSv1.3',
      SMPP_CREDENTIALS_SECRET_ID: { Ref: expect.stringContaining('ConnectorCredentials') },
      TX_BINDS: '1',
      RX_BINDS: '1',
      TRX_BINDS: '0',
      ACCOUNT_BINDS: '4',
      MPS_PER_BIND: '50',
      WINDOW_SIZE: '10',
      STORE_LINGER_MS: '20',
      OUTBOUND_QUEUE_URL: { Ref: expect.stringContaining('ConnectorQueue') },
      OUTBOUND_PRIORITY_QUEUE_URL: { Ref: expect.stringContaining('ConnectorPriorityQueue') },
      BULK_MIN_SHARE: '0.1',
      MESSAGES_TABLE: { Ref: expect.stringContaining('ConnectorMessages') },
      MESSAGE_TTL_DAYS: '30',
      FINAL_STATUS_TIMEOUT_HOURS: '72',
      LOG_LEVEL: 'info',
      HEALTH_PORT: '8080',
      SHUTDOWN_GRACE_MS: '20000',
      VISIBILITY_TIMEOUT_SECONDS: '15',
      MAX_RECEIVE_COUNT: '10',
      OPT_OUT: 'false',
      OPT_OUT_KEYWORDS: 'STOP,UNSUBSCRIBE,CANCEL,END,QUIT,STOPALL',
      OPT_IN_KEYWORDS: 'START,UNSTOP',
      OPT_OUT_SCOPE: 'sender',
      SERVICE_NAME: name,
    });
    expect(Object.keys(env)).not.toContain('SMPP_PASSWORD');
    // The service loads what the task definition gives it, and uses the queue's own visibility and redrive limit.
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : k === 'OUTBOUND_QUEUE_URL' ? 'https://sqs.example/q' : k === 'OUTBOUND_PRIORITY_QUEUE_URL' ? 'https://sqs.example/p' : 'resolved-at-deploy']));
    const config = loadConfig({ ...resolved, AWS_REGION: 'ap-southeast-1' });
    const queue = resources(template(name), 'AWS::SQS::Queue').find(([id]) => id.includes('ConnectorQueue'))![1];
    expect(config.visibilityTimeoutSeconds).toBe(queue.Properties.VisibilityTimeout);
    expect(config.maxReceiveCount).toBe((queue.Properties.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount);
    expect(config.aws.priorityQueueUrl).toBe('https://sqs.example/p');
    expect(config.bulkMinShare).toBe(0.1);
    expect(task.Properties).toMatchObject({ Cpu: '512', Memory: '1024', RuntimePlatform: { CpuArchitecture: 'X86_64' } });
  });

  it('health-checks liveness (/healthz), never readiness, so a task whose binds are all down is not replaced', async () => {
    const task = only(template(name), 'AWS::ECS::TaskDefinition', 'Task');
    const [container] = task.Properties.ContainerDefinitions as { HealthCheck: { Command: string[] } }[];
    const script = container!.HealthCheck.Command[3] ?? '';
    expect(script).toContain("'http://127.0.0.1:8080/healthz'");
    expect(script).not.toContain('readyz');

    // Run the template's own command against the service's health server while no bind is bound.
    const server = await startHealthServer(0, () => ({ ok: false, detail: { binds: { tx: 0, rx: 0 } } }));
    try {
      const { port } = server.address() as AddressInfo;
      const exitOf = (path: string) => nodeExitCode(script.replace('127.0.0.1:8080/healthz', `127.0.0.1:${port}${path}`));
      expect(await exitOf('/healthz')).toBe(0);
      // The harness can tell the difference: the readiness endpoint would have failed this task.
      expect(await exitOf('/readyz')).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('publishes from the stream on Node 22 with bounded retries, bisection, partial failures and an SQS on-failure destination', () => {
    const t = template(name);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Environment: {
        Variables: {
          EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('StreamPublisherBus') },
          // Powertools Logger and Metrics: the stack name as `service`, the service's metric namespace.
          POWERTOOLS_SERVICE_NAME: name,
          POWERTOOLS_METRICS_NAMESPACE: 'SmppConnector',
        },
      },
    });
    const failureQueue = resources(t, 'AWS::SQS::Queue').find(([id]) => id.includes('FailureQueue'))![0];
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ConnectorMessages'), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 6 * 3600,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failureQueue, 'Arn'] } } },
    });
  });

  it('filters the stream to MESSAGE items, OPTOUT items and MO inserts', () => {
    const esm = only(template(name), 'AWS::Lambda::EventSourceMapping', 'DynamoDBEventSource');
    const patterns = (esm.Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((f) => JSON.parse(f.Pattern) as unknown);
    expect(patterns).toEqual([
      { dynamodb: { NewImage: { kind: { S: ['MESSAGE'] } } } },
      { dynamodb: { NewImage: { kind: { S: ['OPTOUT'] } } } },
      { eventName: ['INSERT'], dynamodb: { NewImage: { kind: { S: ['MO'] } } } },
    ]);
  });

  it('with publishStatuses "consumers", lets only the statuses the consumers subscribe to reach the publisher', () => {
    const esm = only(template('SmppConnector-imported'), 'AWS::Lambda::EventSourceMapping', 'DynamoDBEventSource');
    const patterns = (esm.Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((f) => JSON.parse(f.Pattern) as unknown);
    expect(patterns[0]).toEqual({ dynamodb: { NewImage: { kind: { S: ['MESSAGE'] }, status: { S: ['DELIVERED', 'UNDELIVERED'] } } } });
  });

  it('alarms on the DLQ, queue age, missing binds, tasks, CPU, throttling, failures and the publisher, to an encrypted topic', () => {
    const t = template(name);
    const alarms = resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const byMetric = (metricName: string) => alarms.filter((a) => a.MetricName === metricName);
    expect(alarms).toHaveLength(16);
    // The two outbound DLQs (bulk and priority) and the publisher's failure queue.
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(3);
    expect(byMetric('ApproximateAgeOfOldestMessage')).toMatchObject([{ Threshold: 300, ComparisonOperator: 'GreaterThanThreshold' }]);
    expect(byMetric('BindsBound')).toMatchObject([
      { Namespace: 'SmppConnector', Dimensions: [{ Name: 'Service', Value: name }], Threshold: 1, TreatMissingData: 'breaching', ActionsEnabled: true },
    ]);
    expect(byMetric('SubmitFailed')).toMatchObject([{ Namespace: 'SmppConnector', Statistic: 'Sum' }]);
    expect(byMetric('Errors')).toHaveLength(2); // the publisher and the final-status sweep
    expect(byMetric('IteratorAge')).toMatchObject([{ Threshold: 60_000 }]);
    expect(byMetric('RunningTaskCount')).toMatchObject([{ Threshold: 2, ComparisonOperator: 'LessThanThreshold' }]);
    // Readiness is watched here, not by the container health check.
    expect(alarms.filter((a) => String(a.AlarmDescription).includes('readyz'))).toEqual([]);
    expect(byMetric('CPUUtilization')).toMatchObject([
      { Namespace: 'AWS/ECS', Statistic: 'Average', Period: 300, Threshold: 80, EvaluationPeriods: 3, ComparisonOperator: 'GreaterThanThreshold', ActionsEnabled: true },
    ]);
    const throttle = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes('SubmitThrottled'));
    expect(throttle).toMatchObject({ Threshold: 20, ComparisonOperator: 'GreaterThanThreshold' });
    const topic = resources(t, 'AWS::SNS::Topic')[0]![0];
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    expect(resources(t, 'AWS::SNS::Subscription')).toHaveLength(0);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it("draws the service's CPU on the dashboard: vCPU in use against the desired tasks' vCPU, and CPU ms per accepted submit", () => {
    const t = template(name);
    const [[, dashboard]] = resources(t, 'AWS::CloudWatch::Dashboard') as [[string, { Properties: { DashboardBody: unknown } }]];
    // The body is a Fn::Join of JSON text around the tokens; joined without them it reads as the widgets' JSON.
    const parts = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const body = parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
    const widget = (JSON.parse(body) as { widgets: { properties: { title?: string; metrics?: unknown[]; annotations?: unknown } }[] }).widgets.find(
      (x) => x.properties.title === 'Service CPU (all tasks)',
    );
    expect(widget).toBeDefined();
    const metrics = JSON.stringify(widget?.properties.metrics);
    expect(metrics).toContain('c / (PERIOD(c) * 1000)');
    expect(metrics).toContain('IF(a > 0, c / a, 0)');
    expect(metrics).toContain('"SmppConnector","ProcessCpuMs"');
    expect(metrics).toContain('"SmppConnector","SubmitAccepted"');
    // Two tasks of 512 CPU units by default: 1 vCPU.
    expect(widget?.properties.annotations).toEqual({ horizontal: [{ value: 1, label: 'vCPU of the desired tasks', yAxis: 'left' }] });
  });

  it('alarms on each NAT gateway: port allocation errors, and dropped packets above 0.01 % of its traffic', () => {
    const t = template(name);
    const nats = resources(t, 'AWS::EC2::NatGateway').map(([id]) => ({ Ref: id }));
    const alarms = resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const portAllocation = alarms.filter((a) => a.MetricName === 'ErrorPortAllocation');
    expect(portAllocation.map((a) => a.Dimensions)).toEqual(nats.map((ref) => [{ Name: 'NatGatewayId', Value: ref }]));
    expect(portAllocation).toMatchObject(nats.map(() => ({ Namespace: 'AWS/NATGateway', Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' })));
    const drops = alarms.filter((a) => JSON.stringify(a.Metrics ?? []).includes('PacketsDropCount'));
    expect(drops).toHaveLength(nats.length);
    for (const [i, alarm] of drops.entries()) {
      expect(alarm).toMatchObject({ Threshold: 0.01, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5 });
      expect(JSON.stringify(alarm.Metrics)).toContain(JSON.stringify(nats[i]));
    }
  });

  it('sends failed deployments of the ECS service to the alarm topic', () => {
    const t = template(name);
    const service = resources(t, 'AWS::ECS::Service')[0]![0];
    const topic = resources(t, 'AWS::SNS::Topic')[0]![0];
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Deployment State Change'],
        resources: [{ Ref: service }],
        detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
      },
      Targets: [Match.objectLike({ Arn: { Ref: topic }, InputTransformer: Match.anyValue() })],
    });
  });
});

describe('a first deploy with -c tasks=0', () => {
  it('starts no task, and the bind and task alarms keep their actions off', () => {
    const first = appWith(configuredStacks.slice(0, 1), { tasks: '0' });
    const [stack] = addConnectorStacks(first, {});
    const t = Template.fromStack(stack!);
    t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 0 });
    const alarms = resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const metric of ['BindsBound', 'RunningTaskCount']) {
      expect(alarms.filter((a) => a.MetricName === metric)).toMatchObject([{ ActionsEnabled: false }]);
    }
    t.hasOutput('BindBudget', { Value: '0 tasks, peak 0 during deployments = 0/4 binds' });
  });
});

describe('a stack with imported EIPs and an imported secret', () => {
  const name = variant.name;

  it('creates no EIP and no IP stack, and binds the NAT gateways to the configured allocations', () => {
    const t = template(name);
    t.resourceCountIs('AWS::EC2::EIP', 0);
    expect(stacks.has('SmppConnectorIps-imported')).toBe(false);
    expect(connectors.get(name)!.dependencies).toEqual([]);
    expect(resources(t, 'AWS::EC2::NatGateway').map(([, nat]) => nat.Properties.AllocationId)).toEqual(IMPORTED_EIPS);
    t.hasOutput('EgressIpAllocationIds', { Value: IMPORTED_EIPS.join(',') });
  });

  it('looks up the addresses of the imported allocations (ec2:DescribeAddresses) for the EgressIps output, in their order', () => {
    const t = template(name);
    const lookups = resources(t, 'Custom::AWS');
    expect(lookups).toHaveLength(IMPORTED_EIPS.length);
    lookups.forEach(([, lookup], i) => {
      const create = JSON.parse(lookup.Properties.Create as string) as Record<string, unknown>;
      expect(create).toMatchObject({ service: 'EC2', action: 'describeAddresses', parameters: { AllocationIds: [IMPORTED_EIPS[i]] } });
    });
    t.hasOutput('EgressIps', { Value: { 'Fn::Join': [',', lookups.map(([id]) => ({ 'Fn::GetAtt': [id, 'Addresses.0.PublicIp'] }))] } });
    // The lookup may write its logs and read addresses, nothing else.
    expect(policyActions(t, 'EgressIpLookupRoleDefaultPolicy')).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents'], ['ec2:DescribeAddresses']]);
  });

  it("plugs each consumer Lambda into the bus: its filter, a retry policy, an encrypted DLQ, and EventBridge's permission from that rule", () => {
    const t = template(name);
    const bus = resources(t, 'AWS::Events::EventBus')[0]![0];
    const rules = resources(t, 'AWS::Events::Rule').filter(([id]) => id.startsWith('Consumers'));
    expect(rules.map(([, r]) => r.Properties.EventPattern)).toEqual([
      { source: ['smpp-connector'], 'detail-type': ['SmsStatusChanged'], detail: { status: ['DELIVERED', 'UNDELIVERED'] } },
      { source: ['smpp-connector'], 'detail-type': ['SmsReceived'] },
    ]);
    const dlqs = resources(t, 'AWS::SQS::Queue').filter(([id]) => id.startsWith('Consumers'));
    expect(dlqs).toHaveLength(2);
    const expected = [
      { arn: BILLING, retries: 185, age: 86_400 },
      { arn: INBOX, retries: 10, age: 3600 },
    ];
    rules.forEach(([ruleId, rule], i) => {
      expect(rule.Properties.EventBusName).toEqual({ Ref: bus });
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: expected[i]!.arn,
          RetryPolicy: { MaximumRetryAttempts: expected[i]!.retries, MaximumEventAgeInSeconds: expected[i]!.age },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqs[i]![0], 'Arn'] } },
        }),
      ]);
      t.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: expected[i]!.arn,
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      });
      expect(dlqs[i]![1].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: dlqs[i]![0] }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } } }),
          ]),
        },
      });
    });
    // And an alarm on each dead-letter queue.
    const alarmed = resources(t, 'AWS::CloudWatch::Alarm')
      .filter(([, a]) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
      .map(([, a]) => JSON.stringify(a.Properties.Dimensions));
    for (const [id] of dlqs) expect(alarmed.some((d) => d.includes(id))).toBe(true);
  });

  it("archives the bus's events for replay, as long as configured", () => {
    const t = template(name);
    t.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [resources(t, 'AWS::Events::EventBus')[0]![0], 'Arn'] },
      EventPattern: { source: ['smpp-connector'] },
      RetentionDays: 7,
    });
    for (const configured of configuredStacks) template(configured.name).hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30 });
  });

  it('turns opt-out on with one setting: the service gets its settings, the task role the same table actions (BatchGetItem included)', () => {
    const t = template(name);
    const [container] = only(t, 'AWS::ECS::TaskDefinition', 'Task').Properties.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[];
    const env = Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({ OPT_OUT: 'true', OPT_OUT_KEYWORDS: 'STOP,ARRET', OPT_IN_KEYWORDS: 'START,UNSTOP', OPT_OUT_SCOPE: 'all' });
    // This variant's own linger reaches the service too.
    expect(env['STORE_LINGER_MS']).toBe('100');
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : k === 'OUTBOUND_QUEUE_URL' ? 'https://sqs.example/q' : k === 'OUTBOUND_PRIORITY_QUEUE_URL' ? 'https://sqs.example/p' : 'resolved-at-deploy']));
    expect(loadConfig({ ...resolved, AWS_REGION: 'ap-southeast-1' })).toMatchObject({ storeLingerMs: 100 });
    expect(loadConfig({ ...resolved, AWS_REGION: 'ap-southeast-1' }).optOut).toEqual({ enabled: true, stopKeywords: ['STOP', 'ARRET'], startKeywords: ['START', 'UNSTOP'], scope: 'all' });
    expect(policyActions(t, 'TaskTaskRoleDefaultPolicy')[1]).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('reads the imported secret and creates none', () => {
    const t = template(name);
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const policy = only(t, 'AWS::IAM::Policy', 'TaskTaskRoleDefaultPolicy').Properties.PolicyDocument as {
      Statement: { Action: string[]; Resource: unknown }[];
    };
    const secretStatement = policy.Statement.find((s) => s.Action.includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(secretStatement?.Resource)).toContain(`${IMPORTED_SECRET}-??????`);
  });

  it('starts the new task before stopping the old one when the budget has room (1 task)', () => {
    const t = template(name);
    t.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 1,
      DeploymentConfiguration: Match.objectLike({ MaximumPercent: 200, MinimumHealthyPercent: 100 }),
    });
    const [container] = only(t, 'AWS::ECS::TaskDefinition', 'Task').Properties.ContainerDefinitions as { StopTimeout: number }[];
    expect(container!.StopTimeout).toBe(55);
  });

  it('has no VPC endpoints when they are turned off, and e-mails the alarms', () => {
    const t = template(name);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});
