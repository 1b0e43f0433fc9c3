import { App, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';

// Placeholder until the infra core issue fills the stacks.
export function synthesizeEnvironments(app: App): void {
  for (const name of ['staging', 'production']) {
    const stack = new TerraformStack(app, `cyphr-${name}`);
    new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  }
}
