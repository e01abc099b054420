/** The text form of a store's bootstrap report: one format for every plan-then-apply store. */
export interface PlanReport {
  dryRun: boolean;
  steps: readonly { description: string }[];
  warnings: readonly string[];
}

export function formatPlanReport(title: string, report: PlanReport): string {
  const lines = [`${title}:`];
  if (report.steps.length === 0) lines.push('  nothing to change (already up to date)');
  else {
    lines.push(
      report.dryRun
        ? `  ${report.steps.length} change(s) planned (dry run, nothing applied):`
        : `  ${report.steps.length} change(s) applied:`,
    );
    for (const step of report.steps) lines.push(`    - ${step.description}`);
  }
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
