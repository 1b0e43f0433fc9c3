// VPC in three AZs: public, private-app and private-data subnets, NAT, flow logs, VPC endpoints.
import { Construct } from 'constructs';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { Route } from '@cdktf/provider-aws/lib/route';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
import { subnetOf } from '../config/cidr';
import { ServiceRole } from './iam';
import { encryptedLogGroup, type LogGroupSettings } from './logs';

export type SubnetTier = 'public' | 'app' | 'data';

/** Subnet index inside the VPC CIDR split in 16: public 0-2, app 4-6, data 8-10 (gaps leave room to grow). */
const SUBNET_BASE: Record<SubnetTier, number> = { public: 0, app: 4, data: 8 };

export interface NetworkProps {
  namePrefix: string;
  cidr: string;
  /** Exactly three. */
  availabilityZones: string[];
  /** One NAT gateway per AZ, or one shared by all. @default true */
  natGatewayPerAz?: boolean;
  /** Flow log group encryption and retention. */
  logs: LogGroupSettings;
  /** Flow log traffic: ACCEPT, REJECT or ALL. @default ALL */
  flowLogTrafficType?: string;
}

export class Network extends Construct {
  readonly vpc: Vpc;
  readonly subnets: Record<SubnetTier, Subnet[]>;
  readonly natGateways: NatGateway[];
  /** Per app subnet (by index): its association and its default route through NAT, for what must wait for egress. */
  private readonly appEgress: { association: RouteTableAssociation; route: Route }[] = [];
  /** Route tables of the private subnets (app, then data), for gateway endpoints. */
  readonly privateRouteTableIds: string[];
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const name = props.namePrefix;
    this.namePrefix = name;
    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: name },
    });
    // The default group is stripped of its rules so nothing can use it by accident.
    new DefaultSecurityGroup(this, 'default-sg', { vpcId: this.vpc.id, tags: { Name: `${name}-default-deny-all` } });

    this.subnets = { public: [], app: [], data: [] };
    for (const tier of Object.keys(SUBNET_BASE) as SubnetTier[]) {
      props.availabilityZones.forEach((az, i) => {
        this.subnets[tier].push(
          new Subnet(this, `${tier}-${i}`, {
            vpcId: this.vpc.id,
            availabilityZone: az,
            cidrBlock: subnetOf(props.cidr, 4, SUBNET_BASE[tier] + i),
            mapPublicIpOnLaunch: false,
            tags: { Name: `${name}-${tier}-${az}`, Tier: tier },
          }),
        );
      });
    }

    const igw = new InternetGateway(this, 'igw', { vpcId: this.vpc.id, tags: { Name: name } });
    const publicRt = this.routeTable('public', [{ gatewayId: igw.id }]).table;
    this.associate(publicRt, 'public');

    const natCount = props.natGatewayPerAz === false ? 1 : props.availabilityZones.length;
    this.natGateways = Array.from({ length: natCount }, (_, i) => {
      const eip = new Eip(this, `nat-eip-${i}`, { domain: 'vpc', tags: { Name: `${name}-nat-${i}` } });
      return new NatGateway(this, `nat-${i}`, {
        allocationId: eip.id,
        subnetId: this.subnets.public[i].id,
        tags: { Name: `${name}-nat-${i}` },
        dependsOn: [igw],
      });
    });
    const appRoutes = this.natGateways.map((nat, i) => this.routeTable(`app-${i}`, [{ natGatewayId: nat.id }]));
    const appRts = appRoutes.map((r) => r.table);
    this.subnets.app.forEach((subnet, i) =>
      this.appEgress.push({
        association: new RouteTableAssociation(this, `app-${i}-rta`, {
          subnetId: subnet.id,
          routeTableId: appRts[i % appRts.length].id,
        }),
        route: appRoutes[i % appRoutes.length].routes[0],
      }),
    );
    // Data subnets have no route out of the VPC at all.
    const dataRt = this.routeTable('data', []).table;
    this.associate(dataRt, 'data');
    this.privateRouteTableIds = [...appRts.map((rt) => rt.id), dataRt.id];

    this.flowLogs(props);
  }

  subnetIds(tier: SubnetTier): string[] {
    return this.subnets[tier].map((s) => s.id);
  }

  /**
   * What an app subnet's way out to the internet is made of (its route table association and the default
   * route through NAT): something that needs egress as soon as it starts, like an image build, depends on it.
   */
  appSubnetEgress(index: number): [RouteTableAssociation, Route] {
    const egress = this.appEgress[index];
    if (!egress) throw new Error(`${this.node.path}: no app subnet ${index}`);
    return [egress.association, egress.route];
  }

  private routeTable(
    id: string,
    defaultRoutes: { gatewayId?: string; natGatewayId?: string }[],
  ): { table: RouteTable; routes: Route[] } {
    const rt = new RouteTable(this, `${id}-rt`, { vpcId: this.vpc.id, tags: { Name: `${this.namePrefix}-${id}` } });
    const routes = defaultRoutes.map(
      (target, i) =>
        new Route(this, `${id}-default-route-${i}`, {
          routeTableId: rt.id,
          destinationCidrBlock: '0.0.0.0/0',
          ...target,
        }),
    );
    return { table: rt, routes };
  }

  private associate(rt: RouteTable, tier: SubnetTier): void {
    this.subnets[tier].forEach(
      (subnet, i) => new RouteTableAssociation(this, `${tier}-${i}-rta`, { subnetId: subnet.id, routeTableId: rt.id }),
    );
  }

  private flowLogs(props: NetworkProps): void {
    const group = encryptedLogGroup(this, 'flow-log-group', `/cyphr/${props.namePrefix}/vpc-flow-logs`, props.logs);
    const role = new ServiceRole(this, 'flow-log-role', {
      name: `${props.namePrefix}-vpc-flow-logs`,
      servicePrincipal: 'vpc-flow-logs.amazonaws.com',
      description: 'VPC flow logs delivery to CloudWatch Logs',
    });
    role.addToPolicy({
      sid: 'DeliverFlowLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [group.arn, `${group.arn}:*`],
    });
    new FlowLog(this, 'flow-log', {
      vpcId: this.vpc.id,
      trafficType: props.flowLogTrafficType ?? 'ALL',
      logDestinationType: 'cloud-watch-logs',
      logDestination: group.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 60,
      tags: { Name: `${props.namePrefix}-flow-log` },
    });
  }
}
