import { App } from 'aws-cdk-lib';
import { ConfigError } from '../service/src/errors.js';
import { addConnectorStacks } from './connector-app.js';

// One stack per region, from the `smppConnector` context in cdk.json (see the README, Deployment).
const app = new App();
try {
  addConnectorStacks(app);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // The list of problems is the whole message; a stack trace would only bury it.
  console.error(err.message);
  process.exit(1);
}
app.synth();
