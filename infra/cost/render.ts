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

export function renderReport(costs: StackCost[], usage: UsageAssumptions): string {
  return [
    '# Cyphr monthly cost by environment and tier',
    `On-demand list prices for ${PRICE_REGION} as of ${PRICES_AS_OF} (infra/cost/prices-us-east-1.ts; verify before budgeting). Our environments deploy to eu-central-1, ~10-20 % dearer. No free tier, Savings Plans or reserved capacity. Counts and shapes come from the synthesized stacks (ASG desired capacity, not max); traffic-driven lines come from the usage assumptions below. The plan's tables leave out ${PLAN_OMISSIONS}.`,
    renderSummary(costs),
    '## Usage assumptions (override: `npm run cost -- --set name=value,...`)',
    renderUsage(usage),
    '## Per stack',
    ...costs.map(renderStack),
  ].join('\n\n');
}
