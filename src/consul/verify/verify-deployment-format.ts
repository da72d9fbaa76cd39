import type { DeploymentReport } from './verify-deployment.js';
import { formatVerifyReport } from './verify-report-format.js';
import { table } from '../../report/table.js';

/**
 * The deployment report as people read it. One datacenter without services prints exactly the
 * cluster report; several datacenters print one cluster report each, then the WAN; declared
 * services add a table of where each was looked up and what DNS answered.
 */
export function formatDeploymentReport(report: DeploymentReport): string {
  const sections: string[] = [];
  if (report.datacenters) {
    for (const dc of report.datacenters) {
      sections.push(`=== datacenter ${dc.name}\n${formatVerifyReport(dc.report)}`);
    }
    if (report.wan) {
      const from = report.wan.checkedFrom.join(', ') || 'no server';
      sections.push(
        report.wan.ok
          ? `WAN OK: every server of every datacenter is an alive WAN member (per ${from}).`
          : `WAN NOT OK:\n${report.wan.problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
  } else {
    sections.push(formatVerifyReport(report));
  }
  if (report.services && report.services.length > 0) {
    const rows = [['SERVICE', 'DC', 'INSTANCES', 'CATALOG', 'DNS QUERY', 'FROM', 'ANSWER']];
    for (const s of report.services) {
      const instances = s.instances.map((i) => i.host).join(',');
      const catalog =
        s.catalogFrom === undefined ? '?' : s.problems.some((p) => /catalog/.test(p)) ? 'NOT OK' : 'ok';
      const dns = s.dns.length > 0 ? s.dns : [undefined];
      dns.forEach((d, i) =>
        rows.push([
          i === 0 ? s.name : '',
          i === 0 ? s.datacenter || '-' : '',
          i === 0 ? instances : '',
          i === 0 ? catalog : '',
          d?.query ?? '-',
          d?.from ?? '-',
          d
            ? `${d.ok ? 'ok' : 'NOT OK'}: ${d.rcode === 'NOERROR' ? d.addresses.join(' ') || '(none)' : d.rcode}`
            : '-',
        ]),
      );
    }
    const problems = report.services.flatMap((s) => s.problems);
    sections.push(
      [
        ...table(rows),
        problems.length === 0
          ? 'Services OK: every declared instance is in the catalog and answered by DNS.'
          : `Services NOT OK:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      ].join('\n'),
    );
  }
  if ((report.datacenters || report.services) && report.owed) {
    sections.push(`Agents NOT OK:\n${report.owed.map((p) => `  - ${p}`).join('\n')}`);
  }
  if (report.datacenters || report.services) {
    sections.push(
      report.ok
        ? 'Deployment OK.'
        : `Deployment NOT OK: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}.`,
    );
  }
  return sections.join('\n\n');
}
