import { join } from 'node:path';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/paths.js';

const root = packageRoot();

/** One line per violation: rule, then the import (or the cycle) it is about. */
function describeViolation(v: IViolation): string {
  const path = v.cycle ? [v.from, ...v.cycle.map((step) => step.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}`;
}

/**
 * The layering rule of issue #18 (.dependency-cruiser.cjs), run offline through
 * dependency-cruiser's API on src/, sim/ and bench/: no import cycles, no import from a lower
 * layer to a higher one or across a level, no test code in the build.
 */
describe('layers', () => {
  it('every import goes down the layers, none in a cycle, none into test code', async () => {
    const options = await extractDepcruiseOptions(join(root, '.dependency-cruiser.cjs'));
    const tsConfig = extractTSConfig(join(root, 'tsconfig.json'));
    const result = await cruise(['src', 'sim', 'bench'], { ...options, baseDir: root }, {}, { tsConfig });
    const summary = (result.output as ICruiseResult).summary;
    // A resolver that found nothing would pass every rule: check it saw the code.
    expect(summary.totalCruised).toBeGreaterThan(200);
    expect(summary.totalDependenciesCruised).toBeGreaterThan(1000);

    // Imports that break the layering (see LAYERS in .dependency-cruiser.cjs).
    expect(summary.violations.map(describeViolation)).toEqual([]);
  });
});
