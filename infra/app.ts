import { App } from 'aws-cdk-lib';
import { addConnectorStacks } from './connector-app.js';

// One stack per region, from the `smppConnector` context in cdk.json (see infra/DEPLOY.md).
const app = new App();
addConnectorStacks(app);
app.synth();
