// Turns the arithmetic or unit-conversion part of a natural-language clause into an expression a
// mathjs-backed calculator tool accepts ("what is 26.2 miles in kilometres" -> "26.2 mi to km").
// Deliberately small: unit conversion, "X% of Y", and spelled-out or symbolic arithmetic.

const UNIT_ALIASES: Array<[RegExp, string]> = [
  [/^(?:miles?|mi)$/, 'mi'],
  [/^(?:kilomet(?:er|re)s?|kms?)$/, 'km'],
  [/^(?:kilograms?|kilos?|kgs?)$/, 'kg'],
  [/^(?:pounds?|lbs?)$/, 'lb'],
  [/^(?:°\s*c|degc|celsius|degrees? celsius|c)$/, 'degC'],
  [/^(?:°\s*f|degf|fahrenheit|degrees? fahrenheit|f)$/, 'degF'],
  [/^(?:met(?:er|re)s?|m)$/, 'm'],
  [/^(?:feet|foot|ft)$/, 'ft'],
  [/^(?:lit(?:er|re)s?|l)$/, 'l'],
  [/^(?:gallons?|gal)$/, 'gal'],
];

const UNIT_WORD =
  '(?:°\\s*[cf]|degrees? (?:celsius|fahrenheit)|celsius|fahrenheit|kilomet(?:er|re)s?|kms?|miles?|mi|kilograms?|kilos?|kgs?|pounds?|lbs?|met(?:er|re)s?|feet|foot|ft|lit(?:er|re)s?|gallons?|gal|m|l|c|f)';

const NUMBER = '-?\\d+(?:,\\d{3})*(?:\\.\\d+)?';

function unitSymbol(word: string): string | undefined {
  const w = word.toLowerCase().replace(/\s+/g, ' ').trim();
  return UNIT_ALIASES.find(([re]) => re.test(w))?.[1];
}

const plain = (n: string): string => n.replace(/,/g, '');

function conversion(clause: string): string | undefined {
  const re = new RegExp(`(${NUMBER})\\s*(${UNIT_WORD})\\s+(?:in|to|into|as)\\s+(${UNIT_WORD})(?![a-z])`, 'i');
  const m = re.exec(clause);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  const from = unitSymbol(m[2]);
  const to = unitSymbol(m[3]);
  return from && to ? `${plain(m[1])} ${from} to ${to}` : undefined;
}

function percentage(clause: string): string | undefined {
  const m = new RegExp(`(${NUMBER})\\s*(?:%|percent)\\s+of\\s+(${NUMBER})`, 'i').exec(clause);
  if (!m?.[1] || !m[2]) return undefined;
  const fraction = Number((Number(plain(m[1])) / 100).toPrecision(12));
  return `${fraction} * ${plain(m[2])}`;
}

const WORD_OPERATORS: Array<[RegExp, string]> = [
  [/\bmultiplied by\b|\btimes\b/gi, ' * '],
  [/\bdivided by\b|\bover\b/gi, ' / '],
  [/\bplus\b|\badded to\b/gi, ' + '],
  [/\bminus\b|\bless\b/gi, ' - '],
  [/\bto the power of\b/gi, ' ^ '],
  [/\bsquared\b/gi, ' ^ 2'],
  [/\bcubed\b/gi, ' ^ 3'],
  [/(\d)\s*[x×]\s*(?=\d)/gi, '$1 * '],
  [/÷/g, ' / '],
];

function arithmetic(clause: string): string | undefined {
  let text = clause;
  for (const [re, op] of WORD_OPERATORS) text = text.replace(re, op);
  text = text.replace(/\b(?:square root|sqrt) of\s+(\d+(?:\.\d+)?)/gi, 'sqrt($1)');
  // The longest run made only of numbers, operators, parentheses and sqrt() calls.
  const runs = text.match(/(?:sqrt\(|[\d.(])[\d.\s+\-*/^()%sqrt,]*[\d)]/gi) ?? [];
  const best = runs
    .map((r) =>
      r
        .replace(/(\d),(\d{3})/g, '$1$2')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((r) => /[+\-*/^]|sqrt\(/.test(r) && /\d/.test(r) && !/^\d{4}-\d{1,2}(?:-\d{1,2})?$/.test(r))
    .sort((a, b) => b.length - a.length)[0];
  return best;
}

/** The best calculator expression for `clause`, or undefined when it holds no maths. */
export function extractExpression(clause: string): string | undefined {
  return conversion(clause) ?? percentage(clause) ?? arithmetic(clause);
}

/** True when a clause looks like a calculation: a conversion, a percentage or an operator between numbers. */
export function looksMathematical(clause: string): boolean {
  return extractExpression(clause) !== undefined;
}
