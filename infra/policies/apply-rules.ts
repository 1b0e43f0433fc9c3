// Policy rules for facts about AWS that `terraform plan` cannot see and a real apply (or the first hours
// after it) would trip over. Each rule names the AWS document it comes from. Cross-resource facts (which
// route serves a subnet, how long an image build may take) are read from the stack once, at validation time.
import { TerraformResource, TerraformStack } from 'cdktf';
import { API_KEEP_ALIVE_TIMEOUT_MS } from '../../common/operations/timeouts';
import { START_BUDGET_SECONDS } from '../constructs/compute';
import { APPLY_MARGIN_MINUTES, GITHUB_OIDC_HOST } from '../operations/ci-deploy-role';
import { address, attributesOf } from './aspect';
import type { Attributes, PolicyRule } from './rules';

const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value ? [String(value)] : []);
const ANYWHERE = ['0.0.0.0/0', '::/0'];
/** Terraform's default create timeout of aws_imagebuilder_image. */
const DEFAULT_IMAGE_TIMEOUT = '60m';
/** IAM's default MaxSessionDuration. */
const DEFAULT_SESSION_SECONDS = 3600;
/** AWS's defaults when the attribute is unset. */
const DEFAULT_ALB_IDLE_SECONDS = 60;
const DEFAULT_GRACE_SECONDS = 300;

interface Indexed {
  address: string;
  type: string;
  attributes: Attributes;
}

/** Terraform durations: "90m", "1h30m", "5400s". */
export function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a Terraform duration: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'], 0);
}

/** `${aws_x.name.attr}` -> `aws_x.name` */
const referenced = (value: unknown): string | undefined =>
  /^\$\{([a-z0-9_]+\.[^.}]+)\.[a-z_]+\}$/.exec(String(value))?.[1];

class StackIndex {
  private cached?: Indexed[];
  constructor(private readonly stack: TerraformStack) {}

  get all(): Indexed[] {
    return (this.cached ??= this.stack.node
      .findAll()
      .filter((n): n is TerraformResource => TerraformResource.isTerraformResource(n))
      .map((r) => ({ address: address(r), type: r.terraformResourceType, attributes: attributesOf(r) })));
  }

  ofType(type: string): Indexed[] {
    return this.all.filter((r) => r.type === type);
  }

  byAddress(addr: string | undefined): Indexed | undefined {
    return addr ? this.all.find((r) => r.address === addr) : undefined;
  }

  /** The longest time Terraform waits for an image build in this stack (0 without one). */
  longestImageBuildSeconds(): number {
    return Math.max(
      0,
      ...this.ofType('aws_imagebuilder_image').map((image) => {
        const timeouts = image.attributes.timeouts as { create?: string } | undefined;
        return durationSeconds(timeouts?.create ?? DEFAULT_IMAGE_TIMEOUT);
      }),
    );
  }

  /**
   * What an image build needs created before it starts: the association and default route of its subnet's
   * route table, and the VPC endpoints that serve that subnet or route table. Undefined when the subnet is not
   * in this stack (nothing to check).
   */
  networkPathOf(image: Attributes): { needed: string[]; problem?: string } | undefined {
    const infrastructure = this.byAddress(referenced(image.infrastructure_configuration_arn));
    const subnet = infrastructure?.attributes.subnet_id;
    if (!subnet || !referenced(subnet)) return undefined;
    const association = this.ofType('aws_route_table_association').find((a) => a.attributes.subnet_id === subnet);
    if (!association) return { needed: [], problem: `subnet ${subnet} has no route table association (no way out)` };
    const table = association.attributes.route_table_id;
    const routes = this.ofType('aws_route').filter(
      (r) =>
        r.attributes.route_table_id === table &&
        ANYWHERE.includes(String(r.attributes.destination_cidr_block ?? r.attributes.destination_ipv6_cidr_block)),
    );
    if (!routes.length) return { needed: [], problem: `route table ${table} of subnet ${subnet} has no default route` };
    const endpoints = this.ofType('aws_vpc_endpoint').filter(
      (e) =>
        list(e.attributes.subnet_ids).includes(String(subnet)) ||
        list(e.attributes.route_table_ids).includes(String(table)),
    );
    return { needed: [association, ...routes, ...endpoints].map((r) => r.address) };
  }
}

const trustsGithubOidc = (a: Attributes) =>
  String(a.assume_role_policy ?? '').includes('sts:AssumeRoleWithWebIdentity') &&
  String(a.assume_role_policy ?? '').includes(GITHUB_OIDC_HOST);

/** The apply rules for `stack`. */
export function applyPolicyRules(stack: TerraformStack): PolicyRule[] {
  const index = new StackIndex(stack);
  return [
    {
      // ELB user guide, "Edit the attributes of your Application Load Balancer" (connection idle timeout): the
      // application's keep-alive timeout should be larger than the load balancer's idle timeout.
      id: 'alb-idle-below-keep-alive',
      description: "The ALB's idle timeout is below the API's HTTP keep-alive timeout",
      types: ['aws_lb', 'aws_alb'],
      check: (a) => {
        if ((a.load_balancer_type ?? 'application') !== 'application') return undefined;
        const idle = Number(a.idle_timeout ?? DEFAULT_ALB_IDLE_SECONDS);
        const keepAlive = API_KEEP_ALIVE_TIMEOUT_MS / 1000;
        return idle < keepAlive
          ? undefined
          : `idle_timeout ${idle} s must be below the API's keep-alive timeout (${keepAlive} s), or the ALB reuses connections the API closed (502)`;
      },
    },
    {
      // EC2 Auto Scaling user guide, "Set the health check grace period": at least as long as an instance takes
      // to start its application, or the group replaces instances that are still starting.
      id: 'asg-grace-covers-start-budget',
      description: 'Auto Scaling health checks wait until an instance has booted and migrated',
      types: ['aws_autoscaling_group'],
      check: (a) => {
        const grace = Number(a.health_check_grace_period ?? DEFAULT_GRACE_SECONDS);
        return grace >= START_BUDGET_SECONDS
          ? undefined
          : `health_check_grace_period ${grace} s is below the start budget (${START_BUDGET_SECONDS} s: boot plus the migration's TimeoutStartSec)`;
      },
    },
    {
      // Image Builder user guide, "Troubleshoot" (build instance cannot reach SSM / package repositories): the
      // build instance needs its route to the internet or VPC endpoints. Terraform creates what nothing orders,
      // in parallel, so the image must depend on its network path.
      id: 'image-build-waits-for-network',
      description: 'An image build depends on the route and endpoints its subnet reaches AWS and the internet by',
      types: ['aws_imagebuilder_image'],
      check: (a) => {
        const path = index.networkPathOf(a);
        if (!path) return undefined;
        if (path.problem) return path.problem;
        const dependsOn = new Set(list(a.depends_on));
        const missing = path.needed.filter((addr) => !dependsOn.has(addr));
        return missing.length
          ? `depends_on must include ${missing.join(', ')}: the build instance starts at once and needs its way out`
          : undefined;
      },
    },
    {
      // IAM user guide, "Modify a role maximum session duration", and configure-aws-credentials'
      // role-duration-seconds: credentials expiring mid-apply leave a half-applied stack and a held state lock.
      id: 'deploy-session-covers-apply',
      description: "The CI deploy role's session outlasts an apply that bakes an AMI",
      types: ['aws_iam_role'],
      check: (a) => {
        if (!trustsGithubOidc(a)) return undefined;
        const session = Number(a.max_session_duration ?? DEFAULT_SESSION_SECONDS);
        const needed = index.longestImageBuildSeconds() + APPLY_MARGIN_MINUTES * 60;
        return session >= needed
          ? undefined
          : `max_session_duration ${session} s is shorter than the image build timeout plus ${APPLY_MARGIN_MINUTES} min of apply (${needed} s)`;
      },
    },
  ];
}
