import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { StackConfigInput } from '../../infra/config.js';
import { REPO_ROOT } from '../../infra/paths.js';

interface CdkJson {
  context: Record<string, unknown> & { smppConnector: { stacks: StackConfigInput[] } };
}

/** cdk.json as committed: the app's configuration and feature flags. */
export const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as CdkJson;
/** cdk.context.json as committed: the availability zones, so nothing asks AWS. */
export const cdkContext = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.context.json'), 'utf8')) as Record<string, unknown>;

/** The configured stacks, as cdk.json lists them. */
export const configuredStacks = cdkJson.context.smppConnector.stacks;

/** An App with the same context the CLI gives infra/app.ts, and `stacks` as its configuration. */
export function appWith(stacks: StackConfigInput[] = configuredStacks, extra: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJson.context, ...cdkContext, smppConnector: { stacks }, ...extra } });
}

/** A valid stack configuration to vary in tests (the committed Asia Pacific one). */
export function stackConfig(overrides: Partial<StackConfigInput> = {}): StackConfigInput {
  const base = configuredStacks[0];
  if (base === undefined) throw new Error('cdk.json configures no stack');
  return { ...base, ...overrides };
}
