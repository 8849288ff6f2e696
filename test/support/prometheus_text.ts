/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * for tests: it refuses anything a scraper could read differently.
 *
 * @module
 */

/** One sample: metric name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: its type, help and samples. */
export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

/** Parses `text`, throwing on the first line that breaks the format. */
export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the page must end in a newline");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line.startsWith("#")) {
      const [, keyword, name, rest] =
        /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line) ??
          [];
      if (keyword === undefined) return; // a plain comment
      if (!METRIC_NAME.test(name)) throw new Error(`bad name at ${where}`);
      let family = families.get(name);
      if (family && family !== current) {
        throw new Error(`${name} is described twice, apart, at ${where}`);
      }
      if (!family) {
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
        current = family;
      }
      if (keyword === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`bad type at ${where}`);
        if (family.samples.length > 0) {
          throw new Error(`TYPE after samples at ${where}`);
        }
        (family as { type: string }).type = rest;
      } else {
        (family as { help: string }).help = rest;
      }
      return;
    }
    if (line.trim() === "") throw new Error(`empty line at ${where}`);
    const sample = parseSample(line, where);
    const family = current;
    const suffixes = SUFFIXES[family?.type ?? ""] ?? [""];
    if (
      !family ||
      !suffixes.some((suffix) => sample.name === family.name + suffix)
    ) {
      throw new Error(`sample outside its family at ${where}`);
    }
    const key = `${sample.name}${JSON.stringify(sortedLabels(sample.labels))}`;
    if (series.has(key)) throw new Error(`duplicate series at ${where}`);
    series.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) checkFamily(family);
  return families;
}

function sortedLabels(labels: Readonly<Record<string, string>>): string[][] {
  return Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1);
}

function parseSample(line: string, where: string): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head) throw new Error(`bad metric name at ${where}`);
  const name = head[1];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const label = /^([^=]*)="/.exec(rest);
      if (!label || !LABEL_NAME.test(label[1])) {
        throw new Error(`bad label at ${where}`);
      }
      rest = rest.slice(label[0].length);
      let value = "";
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`unterminated label at ${where}`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === "\\") {
          const escaped = rest[0];
          rest = rest.slice(1);
          if (escaped === "n") value += "\n";
          else if (escaped === "\\" || escaped === '"') value += escaped;
          else throw new Error(`bad escape \\${escaped} at ${where}`);
        } else if (c === "\n") {
          throw new Error(`raw line feed in a label at ${where}`);
        } else value += c;
      }
      if (label[1] in labels) throw new Error(`label twice at ${where}`);
      labels[label[1]] = value;
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) throw new Error(`bad labels at ${where}`);
    }
    rest = rest.slice(1);
  }
  const value = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!value) throw new Error(`bad value at ${where}`);
  return { name, labels, value: parseValue(value[1], where) };
}

function parseValue(text: string, where: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`bad number at ${where}`);
  }
  return Number(text);
}

function checkFamily(family: Family): void {
  if (family.type === "counter") {
    for (const sample of family.samples) {
      if (!(sample.value >= 0)) {
        throw new Error(`${family.name}: a counter below 0`);
      }
    }
  }
  if (family.type !== "histogram") return;
  const buckets = family.samples.filter((s) => s.name.endsWith("_bucket"));
  const count = family.samples.find((s) => s.name.endsWith("_count"));
  const sum = family.samples.find((s) => s.name.endsWith("_sum"));
  if (!count || !sum) throw new Error(`${family.name}: no _count or _sum`);
  let last = -Infinity;
  let previous = 0;
  for (const bucket of buckets) {
    const le = bucket.labels.le;
    const bound = le === "+Inf" ? Infinity : Number(le);
    if (le === undefined || Number.isNaN(bound) || bound <= last) {
      throw new Error(`${family.name}: buckets out of order at le=${le}`);
    }
    if (bucket.value < previous) {
      throw new Error(`${family.name}: bucket counts fall at le=${le}`);
    }
    last = bound;
    previous = bucket.value;
  }
  if (last !== Infinity || previous !== count.value) {
    throw new Error(`${family.name}: the +Inf bucket must equal _count`);
  }
}
