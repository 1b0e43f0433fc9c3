// Security groups from intent. Every rule in the stack is made by one of these methods, so the
// allowed traffic reads as a list of sentences (see security.ts).
import { Construct } from 'constructs';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';

export interface ConnectionsProps {
  vpcId: string;
  /** Security group name. */
  name: string;
  description: string;
  /** Port peers reach this group on by default (allowDefaultPortFrom). */
  defaultPort?: number;
}

const ANY_IPV4 = '0.0.0.0/0';

export class Connections extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly defaultPort?: number;

  constructor(scope: Construct, id: string, props: ConnectionsProps) {
    super(scope, id);
    this.defaultPort = props.defaultPort;
    // No inline rules: Terraform removes AWS's default allow-all egress, so the group starts closed.
    this.securityGroup = new SecurityGroup(this, 'group', {
      name: props.name,
      description: props.description,
      vpcId: props.vpcId,
      tags: { Name: props.name },
    });
  }

  get securityGroupId(): string {
    return this.securityGroup.id;
  }

  /** `peer` may open TCP connections to this group on `port` (ingress here, egress there). */
  allowFrom(peer: Connections, port: number, description: string): void {
    const id = `from-${peer.node.id}-${port}`;
    new VpcSecurityGroupIngressRule(this, id, {
      securityGroupId: this.securityGroupId,
      referencedSecurityGroupId: peer.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
    });
    new VpcSecurityGroupEgressRule(peer, `to-${this.node.id}-${port}`, {
      securityGroupId: peer.securityGroupId,
      referencedSecurityGroupId: this.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
    });
  }

  /** `peer` may reach this group on its default port. */
  allowDefaultPortFrom(peer: Connections, description: string): void {
    if (this.defaultPort === undefined) throw new Error(`${this.node.path} has no default port`);
    this.allowFrom(peer, this.defaultPort, description);
  }

  /** Anyone on the internet may connect on `port`. Policy allows this only for the ALB on 80/443. */
  allowFromInternet(port: number, description: string): void {
    new VpcSecurityGroupIngressRule(this, `from-internet-${port}`, {
      securityGroupId: this.securityGroupId,
      cidrIpv4: ANY_IPV4,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
    });
  }

  /**
   * Addresses in a managed prefix list may connect on `port` (CloudFront's origin-facing list for the ALB). A rule
   * referencing a prefix list weighs its max entries against the group's rules quota (CloudFront's: about 55 of 60).
   */
  allowFromPrefixList(prefixListId: string, name: string, port: number, description: string): void {
    new VpcSecurityGroupIngressRule(this, `from-${name}-${port}`, {
      securityGroupId: this.securityGroupId,
      prefixListId,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
    });
  }

  /** This group may open connections to anywhere on `port` (AWS APIs over HTTPS through NAT). */
  allowToInternet(port: number, description: string): void {
    new VpcSecurityGroupEgressRule(this, `to-internet-${port}`, {
      securityGroupId: this.securityGroupId,
      cidrIpv4: ANY_IPV4,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
    });
  }
}
