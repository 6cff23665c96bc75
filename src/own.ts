/**
 * Building values that no setter a program put on `Object.prototype` or `Array.prototype` can
 * disturb: an assignment to a property an object does not have yet (`out.family = 2`, `list.push(x)`)
 * walks the prototype chain and runs such a setter, which can swallow the value or throw. These define
 * the property instead, as an object literal, spread or `Array.from` does.
 * @internal
 * @packageDocumentation
 */

/** Defines `target[key]` as an own, enumerable, writable data property (what an assignment to a new property makes). @internal */
export function own<T extends object>(target: T, key: PropertyKey, value: unknown): T {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Appends `items` to `list`, defining each element (what `list.push(...items)` does by assignment). @internal */
export function append<T>(list: T[], ...items: T[]): T[] {
  for (const item of items) own(list, list.length, item);
  return list;
}
