import { App } from 'cdktf';
import { synthesizeEnvironments } from './infra/app';

// One stack per environment (infra/config/environments.ts). CYPHR_ENVIRONMENTS=staging,production
// (or cdktf context `environments`) narrows the set.
const app = new App();
synthesizeEnvironments(app);
app.synth();
