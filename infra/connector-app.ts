import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { applyTaskOverride, CONTEXT_KEY, parseConnectorConfig, resolveAccount } from './config.js';
import { SmppConnectorStack } from './smpp-connector-stack.js';

/**
 * Adds one stack per configured region to `app`, with cdk-nag's AwsSolutions checks registered so
 * that any unacknowledged finding fails the synth. Throws one ConfigError listing every
 * configuration problem. `-c tasks=N` sets the task count of every stack (e.g. 0 for a first deploy).
 */
export function addConnectorStacks(app: App, env: NodeJS.ProcessEnv = process.env): SmppConnectorStack[] {
  const config = parseConnectorConfig(applyTaskOverride(app.node.tryGetContext(CONTEXT_KEY), app.node.tryGetContext('tasks')));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return config.stacks.map((stack) => {
    const s = new SmppConnectorStack(app, stack.name, {
      config: stack,
      env: { account: resolveAccount(stack, env), region: stack.region },
      description: `SMPP connector to ${stack.smppHost} (${stack.region})`,
    });
    Tags.of(s).add('Project', 'smpp-connector');
    return s;
  });
}
