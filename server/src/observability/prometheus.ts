/**
 * The few Prometheus metric types the server exposes, rendered in the text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Kept tiny on purpose: no
 * registry, no label sets beyond one fixed label.
 */

function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  return Number.isInteger(value) ? String(value) : value.toPrecision(6);
}

function header(name: string, help: string, type: 'counter' | 'gauge' | 'histogram'): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
}

/** A gauge or counter with one value per label value (for example per job state). */
export function renderLabelled(
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  label: string,
  values: Readonly<Record<string, number>>,
): string[] {
  const lines = header(name, help, type);
  for (const [key, value] of Object.entries(values)) lines.push(`${name}{${label}="${key}"} ${formatNumber(value)}`);
  return lines;
}

export function renderSingle(name: string, help: string, type: 'counter' | 'gauge', value: number): string[] {
  return [...header(name, help, type), `${name} ${formatNumber(value)}`];
}

/** Counts observations into cumulative buckets, as Prometheus histograms are defined. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds in seconds, ascending; +Inf is implied. */
    readonly bounds: readonly number[],
  ) {
    this.counts = new Array(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let index = 0; index < this.bounds.length; index++) if (value <= this.bounds[index]) this.counts[index]++;
  }

  get observations(): number {
    return this.count;
  }

  get mean(): number | undefined {
    return this.count === 0 ? undefined : this.sum / this.count;
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'histogram');
    this.bounds.forEach((bound, index) => {
      lines.push(`${this.name}_bucket{le="${formatNumber(bound)}"} ${this.counts[index]}`);
    });
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${this.name}_sum ${formatNumber(this.sum)}`, `${this.name}_count ${this.count}`);
    return lines;
  }
}
