import type { TierSaving } from './capacity-savings';
import { PLAN_OMISSIONS } from './plan-tables';
import { StackCost } from './price-stack';
import { PRICE_REGION, PRICES_AS_OF } from './prices-us-east-1';
import { UsageAssumptions } from './usage';

/** The cost report as Markdown: a summary of every environment x tier, then each stack line by line. */
const usd = (value: number) =>
  `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const table = (header: string[], rows: Array<Array<string | number>>) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

export function renderSummary(costs: StackCost[]): string {
  return table(
    [
      'stack',
      'tier (users)',
      'ours / month',
      'plan / month',
      'of ours, in categories the plan left out',
      'largest items',
    ],
    costs.map((cost) => {
      const top = Object.entries(cost.byCategory)
        .sort(([, x], [, y]) => (y ?? 0) - (x ?? 0))
        .slice(0, 3)
        .map(([category, value]) => `${category} ${usd(value ?? 0)}`)
        .join(', ');
      return [
        cost.stack,
        `${cost.tier} (${cost.users.toLocaleString('en-US')})`,
        `**${usd(cost.total)}**`,
        usd(cost.plan.total),
        usd(cost.plan.leftOut),
        top,
      ];
    }),
  );
}

export function renderStack(cost: StackCost): string {
  const lines = table(
    ['category', 'item', 'quantity', '$ / month', 'from'],
    cost.lines.map((line) => [
      line.category,
      line.item,
      line.quantity,
      usd(line.monthly),
      line.basis === 'synthesized' ? 'stack' : 'usage',
    ]),
  );
  const plan = table(
    ['plan item', 'plan', 'ours (same categories)'],
    [
      ...cost.plan.items.map((item) => [item.label, usd(item.monthly), usd(item.ours)]),
      [`left out by the plan: ${cost.plan.leftOutCategories.join(', ')}`, '—', usd(cost.plan.leftOut)],
      ['**total**', `**${usd(cost.plan.total)}**`, `**${usd(cost.total)}**`],
    ],
  );
  const unpriced = cost.unpriced.length ? `\n\nNot priced (no price in this report): ${cost.unpriced.join(', ')}.` : '';
  return `### ${cost.stack}: ${usd(cost.total)} / month\n\n${cost.environment}, tier ${cost.tier} (${cost.users.toLocaleString('en-US')} users).\n\n${lines}\n\n${plan}${unpriced}`;
}

export function renderUsage(usage: UsageAssumptions): string {
  return table(
    ['usage assumption', 'value'],
    Object.entries(usage).map(([key, value]) => [`\`${key}\``, value]),
  );
}

/** Before / after the performance work: the API and worker fleets each tier needs at peak, priced per month. */
export function renderSavings(savings: TierSaving[], sources: { before: string; after: string }): string {
  const fleet = (cost: TierSaving['before']['api']) =>
    `${cost.instances} × ${cost.instanceType} (${cost.processesPerInstance} process${cost.processesPerInstance > 1 ? 'es' : ''} each)`;
  return [
    `Before: ${sources.before}; one Node process per instance. After: ${sources.after}; one process per vCPU. Both from the capacity model (bench/capacity.ts) at each tier's peak, priced as if the fleet stayed at peak all month (instance, T3 surplus credits at its peak load, root volume): the groups scale in below peak, so the real saving is this times the share of the month spent near peak. The stacks above price the desired counts.`,
    table(
      [
        'tier (users)',
        'api before → after',
        'worker before → after',
        'before / month',
        'after / month',
        'saved / month',
      ],
      savings.map((row) => [
        `${row.tier} (${row.users.toLocaleString('en-US')})`,
        `${fleet(row.before.api)} → ${fleet(row.after.api)}`,
        `${fleet(row.before.worker)} → ${fleet(row.after.worker)}`,
        usd(row.before.monthly),
        usd(row.after.monthly),
        `**${usd(row.saved)}** (${Math.round((row.saved / Math.max(1, row.before.monthly)) * 100)} %)`,
      ]),
    ),
  ].join('\n\n');
}

export function renderReport(
  costs: StackCost[],
  usage: UsageAssumptions,
  savings?: { rows: TierSaving[]; before: string; after: string },
): string {
  return [
    '# Cyphr monthly cost by environment and tier',
    `On-demand list prices for ${PRICE_REGION} as of ${PRICES_AS_OF} (infra/cost/prices-us-east-1.ts; verify before budgeting). Our environments deploy to eu-central-1, ~10-20 % dearer. No free tier, Savings Plans or reserved capacity. Counts and shapes come from the synthesized stacks (ASG desired capacity, not max); traffic-driven lines come from the usage assumptions below. The plan's tables leave out ${PLAN_OMISSIONS}.`,
    renderSummary(costs),
    ...(savings
      ? ['## What the performance work saves (API and worker fleets at peak)', renderSavings(savings.rows, savings)]
      : []),
    '## Usage assumptions (override: `npm run cost -- --set name=value,...`)',
    renderUsage(usage),
    '## Per stack',
    ...costs.map(renderStack),
  ].join('\n\n');
}
