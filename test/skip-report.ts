// A reporter that ends the run by naming every skipped test, and, when a tool was missing
// (test/global-setup.ts), what it would have tested and the command that installs it, so
// a green run with holes in it does not look like a full one.
import { relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

const SHOWN_PER_FILE = 3;

export default class SkipReport implements Reporter {
  private filtered = false;

  onInit(vitest: Vitest): void {
    // Under `-t pattern` every test it leaves out counts as skipped: not worth naming.
    this.filtered = vitest.config.testNamePattern !== undefined;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    let total = 0;
    for (const module of this.filtered ? [] : modules) {
      const names = [...module.children.allTests('skipped')].map((t) => t.fullName);
      if (names.length === 0) continue;
      total += names.length;
      const shown = names.slice(0, SHOWN_PER_FILE).map((n) => JSON.stringify(n)).join(', ');
      const more = names.length > SHOWN_PER_FILE ? `, and ${names.length - SHOWN_PER_FILE} more` : '';
      lines.push(`  ${relative(process.cwd(), module.moduleId)}: ${names.length} (${shown}${more})`);
    }
    const report = process.env.AW_TEST_DEPS_REPORT ?? '';
    if (total === 0 && report === '') return;
    const out = total > 0 ? [`\n${total} skipped test(s):`, ...lines] : [];
    if (report !== '') out.push(report);
    process.stdout.write(`${out.join('\n')}\n`);
  }
}
