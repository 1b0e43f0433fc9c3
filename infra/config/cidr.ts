// IPv4 CIDR arithmetic, enough to lay out subnets and detect overlaps at synth time.

export interface Cidr {
  network: number;
  prefix: number;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/p`; undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
  const m = CIDR.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const network = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (network % size !== 0) return undefined;
  return { network, prefix };
}

export function formatCidr({ network, prefix }: Cidr): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join('.')}/${prefix}`;
}

/** Same as Terraform's cidrsubnet(cidr, newbits, netnum). */
export function subnetOf(cidr: string, newbits: number, netnum: number): string {
  const parent = parseCidr(cidr);
  if (!parent) throw new Error(`invalid CIDR ${cidr}`);
  const prefix = parent.prefix + newbits;
  if (prefix > 32 || netnum >= 2 ** newbits) throw new Error(`${cidr} has no subnet ${netnum} of /${prefix}`);
  return formatCidr({ network: parent.network + netnum * 2 ** (32 - prefix), prefix });
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const xEnd = x.network + 2 ** (32 - x.prefix);
  const yEnd = y.network + 2 ** (32 - y.prefix);
  return x.network < yEnd && y.network < xEnd;
}
