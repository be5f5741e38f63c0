import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { Subject } from 'rxjs';
import type { StopOutcome } from '../../bridge/robot.js';
import type { LoopReport, LoopStats, TimingSummary } from '../../control/loop-contract.js';
import { type RunSessionResult, runSession } from '../../control/run-session.js';
import { ArmpriorError } from '../../core/errors.js';
import { checkOutputDir } from '../../core/output-path.js';
import { integerOption } from '../options.js';
import { openStore } from '../prior-support.js';
import { createProgress } from '../progress.js';

interface RunOptions {
  robot: string;
  actor: string;
  task?: string;
  rate?: number;
  duration?: number;
  record?: string;
  seed: number;
  priors?: string;
  goal?: [number, number, number];
  episodeSteps?: number;
  json?: boolean;
}

/**
 * A run that ended on a fault (e-stop, lost link, actor NaN…), or whose safe stop was not
 * confirmed: the message says what ended it and exactly what happened to the robot.
 */
export class RunFaultError extends ArmpriorError {
  readonly report: LoopReport;
  constructor(report: LoopReport) {
    const ended = report.endedOnFault
      ? `the run stopped on a fault: ${report.stopReason}`
      : `the run ended (${report.stopReason}) without a confirmed stop`;
    super('run_fault', `${ended}; ${stopSentence(report.stop)}`);
    this.report = report;
  }
}

/** What happened to the robot, said plainly, with what the operator must do where needed. */
export function stopSentence(stop: StopOutcome): string {
  switch (stop.kind) {
    case 'confirmed':
      return `robot stopped (confirmed: ${stop.detail})`;
    case 'unconfirmed':
      return `stop NOT confirmed: ${stop.detail}; ${stop.operatorAction}`;
    case 'impossible':
      return `robot NOT stopped: ${stop.detail}; ${stop.operatorAction}`;
  }
}

function positiveNumber(what: string, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) {
      throw new InvalidArgumentError(`expected ${what} above 0 and at most ${max}, got '${value}'`);
    }
    return n;
  };
}

function goalOption(value: string): [number, number, number] {
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p))) {
    throw new InvalidArgumentError(`expected x,y,z in metres (task frame), got '${value}'`);
  }
  return parts as [number, number, number];
}

/** `armprior run`: a prior or a policy drives the simulated arm or a real one, in real time. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run a prior or a policy on the control loop, in real time, on the simulated arm or a ROS robot',
    )
    .requiredOption(
      '--robot <name>',
      "'sim' (the simulated Panda), 'sim:<robot>' (any robot config, simulated), or a robot from config/robots (or a path to its YAML) with a ros: section",
    )
    .requiredOption('--actor <spec>', 'prior:<task>[:vN|:bundled] or a policy file (.onnx)')
    .option('-t, --task <name>', 'the task, for a policy whose metadata does not say it')
    .option(
      '--rate <hz>',
      "loop rate (default: the task's control rate, 25 Hz)",
      positiveNumber('a rate in Hz', 2000),
    )
    .option(
      '--duration <s>',
      'stop after this many seconds (default: until Ctrl-C)',
      positiveNumber('seconds', 86_400),
    )
    .option('--record <dir>', 'record every step as episodes in this dataset folder (train --demos reads it)')
    .option('--seed <n>', 'seed of the simulated scene (episode k: seed + k)', integerOption(0), 0)
    .option('--priors <dir>', 'the controller store for prior:<task>:vN (default ./priors)')
    .option(
      '--goal <x,y,z>',
      'goal position in the task frame (m), for a robot without a goal topic',
      goalOption,
    )
    .option(
      '--episode-steps <n>',
      "steps per episode (default: the task's episode length on sim; none on a robot)",
      integerOption(1),
    )
    .option('--json', 'print the final report as JSON')
    .action(async (options: RunOptions) => {
      // Before the robot is touched: a recording folder that cannot be written is bad input.
      if (options.record) checkOutputDir(resolve(options.record));
      const stop$ = new Subject<string>();
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) return; // the stop is under way; a second Ctrl-C must not skip the safe stop
        signalled = true;
        process.stderr.write(`\narmprior: ${signal}: stopping the robot…\n`);
        stop$.next(`interrupted (${signal})`);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const progress =
        options.duration !== undefined && !options.json
          ? createProgress(`run ${options.actor} on ${options.robot}`, Math.round(options.duration), {
              plainEveryMs: 5000,
            })
          : undefined;
      let lastPlain = -Infinity;
      const onStats = (stats: LoopStats) => {
        if (options.json) return;
        const status = liveStatus(stats);
        if (progress)
          progress.update(
            Math.min(Math.round(options.duration!), Math.floor(stats.elapsedMs / 1000)),
            status,
          );
        else if (stats.elapsedMs - lastPlain >= 5000) {
          lastPlain = stats.elapsedMs;
          process.stderr.write(`run: ${(stats.elapsedMs / 1000).toFixed(0)} s · ${status}\n`);
        }
      };
      let result: RunSessionResult;
      try {
        result = await runSession({
          robot: options.robot,
          actor: options.actor,
          ...(options.task ? { task: options.task } : {}),
          ...(options.rate ? { rateHz: options.rate } : {}),
          ...(options.duration ? { durationSec: options.duration } : {}),
          ...(options.record ? { record: options.record } : {}),
          ...(options.goal ? { goalM: options.goal } : {}),
          ...(options.episodeSteps ? { episodeSteps: options.episodeSteps } : {}),
          seed: options.seed,
          priors: openStore(options.priors),
          stop$,
          onStats,
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } finally {
        progress?.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else process.stdout.write(finalReport(result));
      if (result.report.fault) throw new RunFaultError(result.report);
    });
}

function liveStatus(s: LoopStats): string {
  const limits = Object.values(s.interventions).reduce((a, b) => a + b, 0);
  return `${s.rateHz.toFixed(0)} Hz · jitter p99 ${s.periodJitterMs.p99.toFixed(2)} ms · actor p50 ${s.actorLatencyMs.p50.toFixed(2)} ms · overruns ${s.overruns} · limit hits ${limits}${s.watchdogHolds ? ` · watchdog ${s.watchdogHolds}` : ''}${s.linkDownTicks ? ` · link down ${s.linkDownTicks}` : ''}`;
}

function timing(t: TimingSummary): string {
  return t.count === 0
    ? 'no samples'
    : `p50 ${t.p50.toFixed(3)} ms · p99 ${t.p99.toFixed(3)} ms · max ${t.max.toFixed(3)} ms`;
}

function finalReport(r: RunSessionResult): string {
  const rep: LoopReport = r.report;
  const kinds = Object.entries(rep.interventions)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  const lines = [
    `run · ${r.actor} on ${r.robot} · task ${r.task} · ${r.rateHz.toFixed(0)} Hz`,
    `  ended: ${rep.stopReason}${rep.endedOnFault ? ' (fault)' : ''}`,
    `  ${stopSentence(rep.stop)}`,
    `  steps ${rep.steps} in ${(rep.elapsedMs / 1000).toFixed(1)} s (${rep.rateHz.toFixed(1)} Hz)`,
    `  period jitter   ${timing(rep.periodJitterMs)}`,
    `  actor latency   ${timing(rep.actorLatencyMs)}`,
    `  overruns ${rep.overruns} · watchdog holds ${rep.watchdogHolds} · steps abandoned ${rep.abandonedSteps} · link-down ticks ${rep.linkDownTicks}`,
    `  safety interventions: ${kinds.length ? kinds.join(', ') : 'none'}`,
    `  episodes ${r.tally.episodes} (goal reached in ${r.tally.successes})`,
  ];
  const link = r.robotStats;
  if (link) {
    lines.push(
      `  rosbridge: ${link.messagesReceived} messages in (${link.messagesRejected} refused${link.lastRejection ? `, last: ${link.lastRejection}` : ''}), ${link.commandsSent} commands out, ${link.reconnects} reconnects, ${link.stateGaps} state gaps`,
    );
  }
  if (r.recordedTo) lines.push(`  recorded to ${r.recordedTo}`);
  return `${lines.join('\n')}\n`;
}
