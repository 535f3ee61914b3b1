/** Private brands: the runtime marks objects it made with a private field, which no reader of the data can see, copy or forge. */

/** A base class whose constructor answers the object it is given: a subclass's private fields are installed on that object. */
class Target {
  constructor(target: object) {
    // The return-override of class constructors (ECMAScript): `new Sub(o)` initializes Sub's fields on `o`.
    return target as Target;
  }
}

/**
 * A brand: `mark` stamps an object the runtime made (once, before freezing it) with a value that only
 * `read` gives back. The stamp is a private field: not a property, so invisible to `Reflect.ownKeys`,
 * JSON, spreads, `structuredClone` and proxies; nothing outside this module can add or read it. A
 * `WeakMap` keyed by the object says the same, at several times the cost of an insert.
 */
export interface Brand<T> {
  /** Stamps `target` (an object made by the caller, not yet frozen and not stamped by this brand). */
  mark(target: object, value: T): void;
  /** The value stamped on `value`, or undefined. */
  read(value: unknown): T | undefined;
}

/** A new brand (each one its own private name). */
export function createBrand<T>(): Brand<T> {
  class Stamp extends Target {
    readonly #value: T;

    constructor(target: object, value: T) {
      super(target);
      this.#value = value;
    }

    static read(value: unknown): T | undefined {
      return typeof value === 'object' && value !== null && #value in value ? (value as Stamp).#value : undefined;
    }
  }
  return {
    mark: (target, value) => void new Stamp(target, value),
    read: (value) => Stamp.read(value),
  };
}
