import { loadLocalEnvFile } from '../../common/config/local-env-file';

// Integration tests talk to the services `npm run services:up` started; their settings live in .local/services.env.
loadLocalEnvFile();
