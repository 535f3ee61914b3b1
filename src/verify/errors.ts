/** Typed errors of the verification layer. */
import { ApeError } from '../errors.js';

/** A property (file, `--never`, `--where`, `--always-within`) is malformed. */
export class PropertyError extends ApeError {
  constructor(message: string) {
    super('APE_PROPERTY_INVALID', message);
  }
}
