/**
 * HTML built from tagged templates: every interpolated value is escaped (HTML5 §13.1.2.6
 * character references) unless it is itself markup made by `html` — so a page cannot forget
 * to escape, and markup composes. Arrays of markup are joined.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Markup that is already safe: made by `html`, never from user text. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Interpolation = Markup | string | number | boolean | null | undefined | readonly Interpolation[];

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Markup {
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) text += render(values[i]!) + strings[i + 1]!;
  return new Markup(text);
}

/** `attribute` present without a value when `on` (checked, selected, disabled). */
export const flag = (on: boolean, attribute: string): Markup => new Markup(on ? ` ${attribute}` : "");
