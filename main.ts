import { App } from 'cdktf';
import { synthesizeEnvironments } from './infra/app';

// One stack per environment (infra/config/environments.ts), validated before any construct is made.
// CYPHR_ENVIRONMENTS=staging,production (or cdktf context `environments`) narrows the set;
// CYPHR_TIER=small|medium|large (or context `tier`) overrides their tier (stacks become cyphr-<env>-<tier>).
const app = new App();
synthesizeEnvironments(app);
app.synth();
