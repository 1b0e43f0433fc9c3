import { PRICES } from './prices-us-east-1';
import { CostLine, fleets, gb, hourly, PricingInput } from './pricing';
import { all } from './stack-json';
import { monthlyVolumes } from './usage';

/** ALB, NAT gateways, public IPv4 addresses, interface endpoints and inter-AZ traffic. */
export function networkLines(input: PricingInput): CostLine[] {
  const { resources, users, usage } = input;
  const volumes = monthlyVolumes(users, usage);
  const instances = fleets(resources).reduce((sum, fleet) => sum + fleet.desired, 0);
  const lines: CostLine[] = [];

  for (const [, lb] of all(resources, 'aws_lb')) {
    lines.push({
      category: 'ALB',
      item: `${lb.load_balancer_type ?? 'application'} load balancer`,
      quantity: '730 h',
      monthly: hourly(PRICES.alb.hourly),
      basis: 'synthesized',
    });
    // LCU: the largest of its dimensions, averaged over the month.
    const processedGbPerHour = volumes.cloudfrontGb / 730;
    const lcu = Math.max(
      volumes.newConnectionsPerSecond / 25,
      volumes.activeConnections / 3000,
      processedGbPerHour / 1,
      volumes.requests / (730 * 3600) / 1000,
    );
    lines.push({
      category: 'ALB',
      item: `LCUs (${Math.round(volumes.activeConnections)} WebSockets held; 3,000 per LCU)`,
      quantity: `${lcu.toFixed(1)} LCU × 730 h`,
      monthly: hourly(PRICES.alb.lcuHourly, lcu),
      basis: 'usage',
    });
    const addresses = (lb.subnets ?? []).length;
    if (addresses)
      lines.push({
        category: 'Public IPv4',
        item: 'ALB public addresses (one per AZ)',
        quantity: `${addresses} × 730 h`,
        monthly: hourly(PRICES.publicIpv4Hourly, addresses),
        basis: 'synthesized',
      });
  }

  const nats = all(resources, 'aws_nat_gateway').length;
  if (nats) {
    lines.push({
      category: 'NAT gateway',
      item: 'NAT gateways',
      quantity: `${nats} × 730 h`,
      monthly: hourly(PRICES.natGateway.hourly, nats),
      basis: 'synthesized',
    });
    const natGb = instances * usage.natGbPerInstanceMonth;
    lines.push({
      category: 'NAT gateway',
      item: 'NAT data processed',
      quantity: `${natGb} GB`,
      monthly: natGb * PRICES.natGateway.perGbProcessed,
      basis: 'usage',
    });
    lines.push({
      category: 'Data transfer',
      item: 'internet egress through NAT',
      quantity: `${natGb} GB`,
      monthly: natGb * PRICES.dataTransfer.internetOutPerGb,
      basis: 'usage',
    });
  }
  const eips = all(resources, 'aws_eip').length;
  if (eips)
    lines.push({
      category: 'Public IPv4',
      item: 'Elastic IPs (NAT gateways)',
      quantity: `${eips} × 730 h`,
      monthly: hourly(PRICES.publicIpv4Hourly, eips),
      basis: 'synthesized',
    });

  const interfaces = all(resources, 'aws_vpc_endpoint').filter(
    ([, endpoint]) => endpoint.vpc_endpoint_type === 'Interface',
  );
  if (interfaces.length) {
    const enis = interfaces.reduce((sum, [, endpoint]) => sum + Math.max(1, (endpoint.subnet_ids ?? []).length), 0);
    const names = interfaces.map(([, endpoint]) => String(endpoint.service_name).split('.').pop()).join(', ');
    lines.push({
      category: 'VPC endpoints',
      item: `interface endpoints (${names})`,
      quantity: `${enis} ENIs × 730 h`,
      monthly: hourly(PRICES.vpcInterfaceEndpoint.hourlyPerAz, enis),
      basis: 'synthesized',
    });
    const endpointGb = gb(volumes.messages * 4_000); // SQS bodies in and out, both queues
    lines.push({
      category: 'VPC endpoints',
      item: 'endpoint data processed (SQS traffic)',
      quantity: `${endpointGb.toFixed(1)} GB`,
      monthly: endpointGb * PRICES.vpcInterfaceEndpoint.perGbProcessed,
      basis: 'usage',
    });
  }
  const interAzGb = gb(volumes.messages * usage.interAzBytesPerMessage);
  lines.push({
    category: 'Data transfer',
    item: 'inter-AZ traffic (instances ↔ RDS, Redis, replicas)',
    quantity: `${interAzGb.toFixed(1)} GB`,
    monthly: interAzGb * PRICES.dataTransfer.interAzPerGbEachWay * 2,
    basis: 'usage',
  });
  return lines;
}
