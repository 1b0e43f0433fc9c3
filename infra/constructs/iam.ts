// IAM from intent. A ServiceRole collects statements through grant methods on the things it uses
// (queue.grantConsumeMessages(role), secret.grantRead(role), ...); nothing else writes policies.
import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';

export interface Condition {
  test: string;
  variable: string;
  values: string[];
}

export interface Statement {
  /** Unique within the role; names the intent ("ConsumeMessagesQueue"). */
  sid: string;
  actions: string[];
  resources: string[];
  conditions?: Condition[];
}

export interface ServiceRoleProps {
  /** IAM role name. */
  name: string;
  /** Service that assumes the role, e.g. ec2.amazonaws.com. */
  servicePrincipal: string;
  description: string;
  /** Also create an instance profile (EC2 roles). @default false */
  instanceProfile?: boolean;
}

/** `kms:ViaService`: a key grant usable only through `service` in `region` (a stolen credential cannot decrypt directly). */
export function kmsViaService(service: string, region: string): Condition {
  return { test: 'StringEquals', variable: 'kms:ViaService', values: [`${service}.${region}.amazonaws.com`] };
}

/** KMS actions a role may use only through a service (kms:ViaService); key administration is never granted to roles. */
function needsViaService(statement: Statement): boolean {
  return statement.actions.some((a) => a.toLowerCase().startsWith('kms:'));
}

/** AWS partition of a region, without a data source. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export class ServiceRole extends Construct {
  readonly role: IamRole;
  readonly instanceProfile?: IamInstanceProfile;
  private readonly statements: Statement[] = [];
  private document?: DataAwsIamPolicyDocument;

  constructor(scope: Construct, id: string, props: ServiceRoleProps) {
    super(scope, id);
    this.role = new IamRole(this, 'role', {
      name: props.name,
      description: props.description,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: props.servicePrincipal }, Action: 'sts:AssumeRole' }],
      }),
    });
    if (props.instanceProfile)
      this.instanceProfile = new IamInstanceProfile(this, 'profile', { name: props.name, role: this.role.name });
  }

  get arn(): string {
    return this.role.arn;
  }

  /** Adds a statement to the role's inline policy (created with the first statement). */
  addToPolicy(statement: Statement): void {
    if (this.statements.some((s) => s.sid === statement.sid))
      throw new Error(`${this.node.path}: duplicate policy statement ${statement.sid}`);
    if (!statement.actions.length || !statement.resources.length)
      throw new Error(`${this.node.path}: statement ${statement.sid} needs actions and resources`);
    if (needsViaService(statement) && !statement.conditions?.some((c) => c.variable === 'kms:ViaService'))
      throw new Error(
        `${this.node.path}: statement ${statement.sid} grants KMS without a kms:ViaService condition (kmsViaService())`,
      );
    this.statements.push(statement);
    this.document ??= this.createPolicy();
    // Typed blocks (not a lazy list) so JSON and HCL output render the same.
    this.document.putStatement(
      this.statements.map((s) => ({
        sid: s.sid,
        effect: 'Allow',
        actions: s.actions,
        resources: s.resources,
        condition: s.conditions?.map((c) => ({ test: c.test, variable: c.variable, values: c.values })),
      })),
    );
  }

  /** Attaches an AWS managed policy, e.g. AmazonSSMManagedInstanceCore. */
  attachManagedPolicy(id: string, policyArn: string): void {
    new IamRolePolicyAttachment(this, id, { role: this.role.name, policyArn });
  }

  /** The statements granted so far (tests and the docs read them). */
  get grantedStatements(): readonly Statement[] {
    return this.statements;
  }

  private createPolicy(): DataAwsIamPolicyDocument {
    const document = new DataAwsIamPolicyDocument(this, 'policy-document', {});
    new IamRolePolicy(this, 'policy', { name: 'least-privilege', role: this.role.id, policy: document.json });
    return document;
  }
}
