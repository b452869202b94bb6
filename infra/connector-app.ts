import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { applyTaskOverride, CONTEXT_KEY, ipStackNameOf, parseConnectorConfig, resolveAccount } from './config.js';
import { EgressIpsStack } from './egress-ips-stack.js';
import { SmppConnectorStack } from './smpp-connector-stack.js';

/**
 * Adds the stacks of every configured region to `app`: the connector stack and, unless it imports
 * existing EIPs, its IP stack (e.g. SmppConnectorIps-ap beside SmppConnector-ap), with cdk-nag's
 * AwsSolutions checks registered so that any unacknowledged finding fails the synth. Throws one
 * ConfigError listing every configuration problem. `-c tasks=N` sets the task count of every stack
 * (e.g. 0 for a first deploy). Returns the connector stacks; each names its IP stack as a dependency.
 */
export function addConnectorStacks(app: App, env: NodeJS.ProcessEnv = process.env): SmppConnectorStack[] {
  const config = parseConnectorConfig(applyTaskOverride(app.node.tryGetContext(CONTEXT_KEY), app.node.tryGetContext('tasks')));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return config.stacks.map((stack) => {
    const environment = { account: resolveAccount(stack, env), region: stack.region };
    const ipStack =
      stack.eipAllocationIds.length > 0
        ? undefined
        : new EgressIpsStack(app, ipStackNameOf(stack), {
            count: stack.natGateways,
            env: environment,
            description: `SMPP connector egress IPs for ${stack.name} (${stack.region}): whitelisted at 8x8, never delete`,
          });
    const s = new SmppConnectorStack(app, stack.name, {
      config: stack,
      ...(ipStack && { ipStack }),
      env: environment,
      description: `SMPP connector to ${stack.smppHost} (${stack.region})`,
    });
    for (const tagged of [s, ipStack]) if (tagged !== undefined) Tags.of(tagged).add('Project', 'smpp-connector');
    return s;
  });
}
