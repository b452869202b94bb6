import type { MetricsLogger } from 'aws-embedded-metrics';

type Emf = typeof import('aws-embedded-metrics');

/** Metric names, shared with the CloudWatch alarms and dashboard in infra/. */
export const MetricName = {
  SubmitAccepted: 'SubmitAccepted',
  SubmitThrottled: 'SubmitThrottled',
  SubmitFailed: 'SubmitFailed',
  SubmitRetried: 'SubmitRetried',
  SubmitUnknownOutcome: 'SubmitUnknownOutcome',
  /** PDUs whose header was readable but not their body (a deliver_sm answered ESME_RX_P_APPN). */
  PduUndecodable: 'PduUndecodable',
  ReceiptsStored: 'ReceiptsStored',
  MoStored: 'MoStored',
  JobsInvalid: 'JobsInvalid',
  /** Jobs held back because their number opted out (docs/architecture.md §7.5). */
  JobsOptedOut: 'JobsOptedOut',
  StoreUnavailable: 'StoreUnavailable',
  BindsBound: 'BindsBound',
  ResponseLatencyMs: 'ResponseLatencyMs',
  WindowOccupancy: 'WindowOccupancy',
  QueueWaitMs: 'QueueWaitMs',
  /**
   * CPU time the task's process used since the previous document (user + system): summed over the
   * tasks and divided by the submits, the CPU a message costs in production, which is what sizes a
   * task (README, "CPU per job"); no benchmark here can stand in for Fargate's vCPU.
   */
  ProcessCpuMs: 'ProcessCpuMs',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** What the rest of the code depends on: count, observe, set a gauge. */
export interface Metrics {
  increment(name: MetricName, value?: number): void;
  observe(name: MetricName, value: number): void;
  gauge(name: MetricName, value: number): void;
}

export const noMetrics: Metrics = { increment: () => undefined, observe: () => undefined, gauge: () => undefined };

/** EMF accepts at most 100 values per metric per document. */
const MAX_VALUES = 100;

/**
 * Aggregates in memory and writes one CloudWatch Embedded Metric Format
 * document per interval to stdout (aws-embedded-metrics, Local environment):
 * on Fargate the awslogs driver ships it and CloudWatch extracts the metrics,
 * with no PutMetricData calls on the hot path.
 */
export class EmfMetrics implements Metrics {
  private counters = new Map<MetricName, number>();
  private observations = new Map<MetricName, number[]>();
  private gauges = new Map<MetricName, number>();
  private timer: NodeJS.Timeout | undefined;
  private cpuAt = process.cpuUsage();

  private constructor(
    private readonly emf: Emf,
    private readonly namespace: string,
    private readonly dimensions: Record<string, string>,
    private readonly intervalMs: number,
  ) {}

  /**
   * aws-embedded-metrics picks its environment when it is first loaded, and its
   * auto-discovery calls the EC2 metadata service. We always want plain stdout
   * (awslogs ships it on Fargate), so the 'Local' environment is set before the
   * first import.
   */
  static async create(namespace: string, dimensions: Record<string, string>, intervalMs = 60_000): Promise<EmfMetrics> {
    process.env['AWS_EMF_ENVIRONMENT'] ??= 'Local';
    const emf = await import('aws-embedded-metrics');
    return new EmfMetrics(emf, namespace, dimensions, intervalMs);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  increment(name: MetricName, value = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + value);
  }

  observe(name: MetricName, value: number): void {
    const values = this.observations.get(name) ?? [];
    // Reservoir sampling keeps the sample fair without unbounded memory.
    if (values.length < MAX_VALUES) values.push(value);
    else values[Math.floor(Math.random() * MAX_VALUES)] = value;
    this.observations.set(name, values);
  }

  gauge(name: MetricName, value: number): void {
    this.gauges.set(name, value);
  }

  async flush(): Promise<void> {
    const { Unit } = this.emf;
    const logger: MetricsLogger = this.emf.createMetricsLogger();
    logger.setNamespace(this.namespace);
    logger.setDimensions(this.dimensions);
    for (const [name, value] of this.counters) logger.putMetric(name, value, Unit.Count);
    for (const [name, values] of this.observations) for (const v of values) logger.putMetric(name, v, name.endsWith('Ms') ? Unit.Milliseconds : Unit.Count);
    for (const [name, value] of this.gauges) logger.putMetric(name, value, Unit.Count);
    const cpu = process.cpuUsage();
    logger.putMetric(MetricName.ProcessCpuMs, (cpu.user - this.cpuAt.user + cpu.system - this.cpuAt.system) / 1000, Unit.Milliseconds);
    this.cpuAt = cpu;
    this.counters = new Map();
    this.observations = new Map();
    await logger.flush();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
