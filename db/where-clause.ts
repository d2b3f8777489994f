/**
 * A WHERE clause built from conditions with `?` placeholders, numbered $1, $2… in the order
 * the values are given; the parameter list continues for what follows (LIMIT, say).
 */
export class WhereClause {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  /** Adds `condition`, each `?` in turn taking the next value. */
  add(condition: string, ...values: unknown[]): void {
    let text = condition;
    for (const value of values) text = text.replace("?", this.param(value));
    this.conditions.push(text);
  }

  /** Appends a parameter and answers its placeholder. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** "WHERE a AND b", or nothing without conditions. */
  toString(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(" AND ")}` : "";
  }
}
