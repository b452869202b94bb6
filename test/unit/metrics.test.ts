/**
 * The EMF documents of service/src/metrics.ts, as CloudWatch reads them from stdout: here the CPU
 * the process used between two documents (ProcessCpuMs), which the dashboard divides by the submits.
 */
import { describe, expect, it, vi } from 'vitest';
import { EmfMetrics, MetricName } from '../../service/src/metrics.js';

interface EmfDocument {
  _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string; Unit: string }[] }[] };
  [metric: string]: unknown;
}

const cpuMicros = (u: NodeJS.CpuUsage): number => u.user + u.system;

describe('EmfMetrics', () => {
  it('reports the CPU the process used since the previous document, in milliseconds', async () => {
    const metrics = await EmfMetrics.create('Test', { Service: 'unit' });
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    let before: NodeJS.CpuUsage;
    let used: NodeJS.CpuUsage;
    try {
      before = process.cpuUsage();
      await metrics.flush();
      // At least 30 ms of CPU between the two documents, measured the way the metric is.
      const from = process.cpuUsage();
      while (cpuMicros(process.cpuUsage(from)) < 30_000) Math.sqrt(Math.random());
      metrics.increment(MetricName.SubmitAccepted);
      await metrics.flush();
      used = process.cpuUsage(before);
    } finally {
      spy.mockRestore();
    }
    const docs = lines.map((l) => JSON.parse(l) as EmfDocument).filter((d) => d._aws !== undefined);
    expect(docs).toHaveLength(2);
    const second = docs[1]!;
    expect(second._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Test' });
    expect(second._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: 'ProcessCpuMs', Unit: 'Milliseconds' });
    expect(second['SubmitAccepted']).toBe(1);
    // The interval's CPU, not the process's since it started (far more, in a test worker).
    expect(second['ProcessCpuMs']).toBeGreaterThanOrEqual(30);
    expect(second['ProcessCpuMs']).toBeLessThanOrEqual(cpuMicros(used) / 1000);
  });
});
