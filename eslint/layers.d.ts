/** Types of the local ESLint plugin eslint/layers.js (the layer rules of STYLE.md). */
import type { Rule } from 'eslint';

/** The layers of src/, lowest first. */
export declare const LAYERS: string[];
/** Layers that may import other layers only through public barrels. */
export declare const BARREL_ONLY: string[];
declare const plugin: { rules: { layers: Rule.RuleModule } };
export default plugin;
