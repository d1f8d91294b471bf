/**
 * Pattern 3: analyse, ask a human, then publish exactly once — or undo.
 *
 * The documents are analysed at once (one fast-model call each, keyed by document), a capable
 * model writes the report, and the run waits — durably, for days if need be — for a reviewer's
 * decision (approval.ts). An approved report is published through three side-effecting steps run
 * as a saga (saga.ts): store the report at the destination, post a notification to its outbox,
 * index it for search. Each step's activity id is the step's name, so its idempotency key
 * (workflow run + activity id) is known to the workflow before the step runs: the compensation can
 * name the effect it undoes even when the step died without reporting. If a step fails for good,
 * the compensations run in reverse order and the run fails as PublishCompensated, with the cause.
 *
 * The BraidStatus search attribute follows the stage, so `braid pending` and the Web UI can list
 * runs awaiting a decision (status.ts: written only when the run was started with it); the current
 * details say the same in words, and while the run waits, how to decide.
 *
 * Large content stays out of history: a document the CLI stored arrives as a reference and is read
 * by the analysis call's activity; an analysis or a report too long to keep inline comes back
 * stored, and the publication steps read the report from the blob store (src/shared/blobs.ts).
 */
import { ApplicationFailure, isCancellation, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  idempotencyKey,
  MAX_DOCUMENTS,
  MAX_INLINE_ANALYSIS_CHARS,
  MAX_TOTAL_CHARS,
  PUBLISH_STEPS,
  PublishFailure,
  publishStatusQuery,
  reportText,
  shortName,
  type DocumentAnalysis,
  type EffectRecord,
  type PublishInput,
  type PublishResult,
  type PublishStage,
  type StoredReport,
  type Verdict,
} from '../shared/publish';
import { analysisContent, ANALYSIS_SYSTEM, parseAnalysis, REPORT_SYSTEM, reportContent } from '../prompts/publish';
import { INLINE_MAX_CHARS } from '../shared/blobs';
import { counted, gist, textOf } from '../shared/content';
import { failureMessage } from '../shared/failures';
import { addEstimated, costOfUsage } from '../shared/pricing';
import type { LlmResult, UsageSummary } from '../shared/types';
import { addModelUsage, noUsageSummary, spendOfFailure, type PartialSpend } from '../shared/usage';
import { ApprovalGate, iso } from './approval';
import { fanOut } from './fanout';
import { destinationCheck, labelled, modelCall, sideEffect, sideEffectUndo } from './profiles';
import { Saga } from './saga';
import { RunStatus } from './status';

const llm = (summary: string) => proxyActivities<Activities>(labelled(modelCall, summary));

/** What each step does, for the Web UI's labels. */
const STEP_LABELS: Record<string, string> = {
  'store-report': 'store the report',
  'post-notification': 'post the notification',
  'index-report': 'index the report for search',
  'remind-reviewers': 'remind the reviewers',
  'retract-report': 'undo: delete the stored report',
  'retract-notification': 'undo: post a retraction',
  'unindex-report': 'undo: remove the index entry',
};

/** A proxy whose calls carry `activityId`: the step's name, part of its idempotency key. */
const effect = (activityId: string) =>
  proxyActivities<Activities>(labelled({ ...sideEffect, activityId }, STEP_LABELS[activityId] ?? activityId));
const undo = (activityId: string) =>
  proxyActivities<Activities>(labelled({ ...sideEffectUndo, activityId }, STEP_LABELS[activityId] ?? activityId));

function invalid(message: string): never {
  throw ApplicationFailure.nonRetryable(message, PublishFailure.InvalidInput);
}

function validate(input: PublishInput): Required<Omit<PublishInput, 'title' | 'prices'>> & { title?: string } {
  if (!input || !Array.isArray(input.documents) || input.documents.length === 0) invalid('no documents to publish');
  if (input.documents.length > MAX_DOCUMENTS) invalid(`${input.documents.length} documents; the limit is ${MAX_DOCUMENTS}`);
  let total = 0;
  const names = new Set<string>();
  for (const d of input.documents) {
    if (typeof d?.name !== 'string' || !d.name.trim()) invalid('a document has no name');
    if (typeof d.text !== 'string' || !d.text.trim()) invalid(`document ${d.name} is empty`);
    if (d.stored !== undefined && (typeof d.stored?.ref !== 'string' || !Number.isInteger(d.stored.chars)))
      invalid(`document ${d.name} has a malformed stored reference`);
    if (names.has(d.name)) invalid(`document ${d.name} is given twice`);
    names.add(d.name);
    total += d.stored?.chars ?? d.text.length;
  }
  if (total > MAX_TOTAL_CHARS) invalid(`the documents hold ${total} characters; the limit is ${MAX_TOTAL_CHARS}`);
  if (typeof input.destination !== 'string' || !input.destination.trim()) invalid('the destination is missing');
  const ms = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      invalid(`${name} must be a positive whole number of milliseconds, got ${String(v)}`);
    return v;
  };
  const remindAfterMs = ms(input.remindAfterMs, 'remindAfterMs');
  const decideWithinMs = ms(input.decideWithinMs, 'decideWithinMs');
  if (remindAfterMs >= decideWithinMs)
    invalid(`the reminder (${remindAfterMs} ms) must come before the decision deadline (${decideWithinMs} ms)`);
  const defaultDecision: Verdict = input.defaultDecision ?? 'reject';
  if (defaultDecision !== 'approve' && defaultDecision !== 'reject')
    invalid(`defaultDecision must be "approve" or "reject", got ${String(defaultDecision)}`);
  const reviewers = input.reviewers ?? [];
  if (!Array.isArray(reviewers) || reviewers.some((r) => typeof r !== 'string' || !r.trim())) invalid('reviewers must be a list of names');
  return {
    documents: input.documents,
    destination: input.destination,
    reviewers: reviewers.map((r) => r.trim()),
    remindAfterMs,
    decideWithinMs,
    defaultDecision,
    title: input.title,
  };
}

export async function publishWorkflow(input: PublishInput): Promise<PublishResult> {
  const v = validate(input);
  const info = workflowInfo();
  const keyOf = (activityId: string) => idempotencyKey(info.workflowId, info.runId, activityId);
  const check = proxyActivities<Activities>(labelled(destinationCheck, `check the destination ${v.destination}`));
  const status = new RunStatus();
  const names = v.documents.map((d) => d.name);

  let stage: PublishStage = 'checking';
  let report: string | undefined = undefined; // set once written; the status query reads it before
  let reportStored: StoredReport | undefined;
  let analyses: DocumentAnalysis[] = [];
  let error: string | undefined;
  const effects: EffectRecord[] = [];
  const compensations: EffectRecord[] = [];
  const setStage = (s: PublishStage, details: string) => {
    stage = s;
    status.set(s, details);
  };
  const doing: Partial<Record<PublishStage, string>> = {
    checking: 'checking the destination',
    analyzing: 'analysing the documents',
    reporting: 'writing the report',
  };
  const gate = new ApprovalGate(v.reviewers, () => doing[stage] ?? stage);
  setHandler(
    publishStatusQuery,
    () => ({
      stage,
      destination: v.destination,
      documents: names,
      analyses,
      report,
      ...(reportStored ? { reportStored } : {}),
      decision: gate.decision,
      remindAt: gate.remindAt === undefined ? undefined : iso(gate.remindAt),
      decideBy: gate.decideBy === undefined ? undefined : iso(gate.decideBy),
      escalated: gate.escalated,
      ignoredSignals: gate.ignoredSignals,
      effects,
      compensations,
      error,
    }),
    { description: 'Stage, analyses, report, decision, deadlines (ISO-8601), side effects and compensations.' },
  );
  status.details(`**Checking** the destination ${v.destination} before any work.`);
  const fail = (type: string, message: string, cause?: unknown): never => {
    error = message;
    setStage('failed', `**Failed:** ${message}`);
    throw ApplicationFailure.create({ type, message, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
  };

  try {
    await check.checkDestination(v.destination);
  } catch (err) {
    if (isCancellation(err)) throw err;
    fail(PublishFailure.DestinationUnreachable, failureMessage(err), err);
  }

  // 1. Analyse every document at once; results stay in document order whatever finishes first.
  setStage('analyzing', `**Analysing** ${counted(names.length, 'document')} at once: ${gist(names.map(shortName).join(', '), 300)}.`);
  const usage: UsageSummary = noUsageSummary();
  // What attempts that failed streamed before they did (estimated), the failed analyses' included.
  const lost: PartialSpend[] = [];
  let simulated = false;
  const settled = await fanOut(v.documents, async (doc) => {
    const r = await llm(`analyse ${shortName(doc.name)}`).llmTurn({
      role: 'fast',
      system: ANALYSIS_SYSTEM,
      messages: [{ role: 'user', content: analysisContent(doc) }],
      storeAbove: MAX_INLINE_ANALYSIS_CHARS,
    });
    const analysis: DocumentAnalysis & { title?: string } = r.storedText
      ? { name: doc.name, ok: true, summary: textOf(r.content), keyPoints: [], stored: r.storedText }
      : parseAnalysis(doc.name, textOf(r.content));
    return { r, analysis };
  });
  // Usage is added in document order, not as the analyses arrive.
  for (const s of settled) {
    lost.push(...(s.ok ? (s.value.r.retriedSpend ?? []) : spendOfFailure(s.error)));
    if (!s.ok) continue;
    addModelUsage(usage, s.value.r.model, s.value.r.usage);
    simulated ||= s.value.r.simulated;
  }
  const parsed = settled.map((s, i) =>
    s.ok ? s.value.analysis : { name: v.documents[i]!.name, ok: false, summary: '', keyPoints: [], error: failureMessage(s.error) },
  );
  analyses = parsed.map(({ name, ok, summary, keyPoints, error: e, stored }) => ({
    name,
    ok,
    summary,
    keyPoints,
    ...(e ? { error: e } : {}),
    ...(stored ? { stored } : {}),
  }));
  if (analyses.every((a) => !a.ok))
    fail(PublishFailure.AnalysisFailed, `every document analysis failed; first error: ${analyses[0]!.error}`);
  for (const a of analyses.filter((x) => !x.ok))
    log.warn('document analysis failed; the report says so', { document: a.name, error: a.error });

  // 2. One report from all analyses, by the capable model.
  const title = v.title ?? parsed.find((a) => a.title)?.title ?? `Report on ${v.documents.length} document(s)`;
  const failedAnalyses = analyses.filter((a) => !a.ok).length;
  setStage(
    'reporting',
    `**Writing the report** "${gist(title, 100)}" from ${analyses.length - failedAnalyses} analyses${failedAnalyses ? ` (${failedAnalyses} failed)` : ''}.`,
  );
  let written: LlmResult;
  try {
    written = await llm(`write the report "${title}"`).llmTurn({
      role: 'capable',
      system: REPORT_SYSTEM,
      messages: [{ role: 'user', content: reportContent(title, analyses) }],
      storeAbove: INLINE_MAX_CHARS,
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    return fail(PublishFailure.ReportFailed, `the report could not be written: ${failureMessage(err)}`, err);
  }
  addModelUsage(usage, written.model, written.usage);
  lost.push(...(written.retriedSpend ?? []));
  simulated ||= written.simulated;
  report = reportText(title, textOf(written.content));
  if (written.storedText) reportStored = { title, body: written.storedText };

  // 3. Wait for a human.
  const who = v.reviewers.length ? v.reviewers.join(', ') : 'any reviewer';
  const waitingFor = (now: number, reminded: boolean) =>
    [
      `**Awaiting a decision** from ${who} until ${iso(now + v.decideWithinMs)} (then: ${v.defaultDecision}).${reminded ? ' The reviewers were reminded.' : ''}`,
      'Decide with *More Actions → Send an Update* → `decide` and the input `{"verdict":"approve","reviewer":"<name>"}` — or `"verdict":"reject"` with a `"reason"`.',
    ].join('\n\n');
  const waitStart = Date.now();
  setStage('awaiting_approval', waitingFor(waitStart, false));
  const decision = await gate.wait({
    remindAfterMs: v.remindAfterMs,
    decideWithinMs: v.decideWithinMs,
    defaultDecision: v.defaultDecision,
    remind: async (decideBy) => {
      effects.push(
        await effect('remind-reviewers').remindReviewers({
          destination: v.destination,
          title,
          reviewers: v.reviewers,
          decideBy,
          defaultDecision: v.defaultDecision,
        }),
      );
      if (stage === 'awaiting_approval') status.details(waitingFor(waitStart, true));
    },
  });
  const by = decision.via === 'deadline' ? 'by default at the deadline' : `by ${decision.reviewer}`;
  const result = (outcome: PublishResult['outcome']): PublishResult => ({
    outcome,
    decision,
    report: report!,
    ...(reportStored ? { reportStored } : {}),
    analyses,
    effects,
    usage,
    cost: addEstimated(costOfUsage(usage.byModel, input.prices), lost, input.prices),
    simulated,
  });
  if (decision.verdict === 'reject') {
    setStage('rejected', `**Rejected** ${by}: ${decision.reason ?? ''}`);
    return result('rejected');
  }

  // 4. Publish as a saga: every step registered with its compensation before it runs.
  setStage('publishing', `**Publishing** to ${v.destination} (approved ${by}): store the report, post the notification, index it.`);
  const saga = new Saga<EffectRecord>();
  const [store, notify, index] = PUBLISH_STEPS;
  const pub = { destination: v.destination, title, report, ...(reportStored ? { reportStored: reportStored.body } : {}) };
  const compensation = (
    s: (typeof PUBLISH_STEPS)[number],
    run: (target: { destination: string; target: string }) => Promise<EffectRecord>,
  ) => ({
    name: s.undo,
    run: () => run({ destination: v.destination, target: keyOf(s.step) }),
  });
  try {
    const stored = await saga.step(
      store.step,
      () => effect(store.step).storeReport(pub),
      compensation(store, (t) => undo(store.undo).retractReport(t)),
    );
    effects.push(stored);
    effects.push(
      await saga.step(
        notify.step,
        () => effect(notify.step).postNotification({ ...pub, reportKey: stored.key }),
        compensation(notify, (t) => undo(notify.undo).retractNotification(t)),
      ),
    );
    effects.push(
      await saga.step(
        index.step,
        () => effect(index.step).indexReport({ ...pub, reportKey: stored.key }),
        compensation(index, (t) => undo(index.undo).unindexReport(t)),
      ),
    );
  } catch (err) {
    const failedStep = saga.current ?? 'publishing';
    const cause = isCancellation(err) ? 'the run was cancelled' : failureMessage(err);
    setStage('compensating', `**Undoing** what was published: ${failedStep} failed (${cause}).`);
    const outcomes = await saga.compensate();
    for (const o of outcomes) if (o.value) compensations.push(o.value);
    const stuck = outcomes.filter((o) => !o.ok);
    const undone = outcomes.map((o) => o.name).join(', ');
    if (stuck.length) {
      error = `publication failed at ${failedStep} (${cause}); compensation failed for ${stuck.map((o) => `${o.name}: ${o.error}`).join('; ')} — undo by hand`;
      setStage('failed', `**Failed:** ${error}`);
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.create({
        type: PublishFailure.CompensationFailed,
        message: error,
        nonRetryable: true,
        cause: err as Error,
        details: [{ compensations, stuck }],
      });
    }
    error = `publication failed at ${failedStep} (${cause}); compensated in reverse order: ${undone}`;
    setStage('compensated', `**Compensated:** ${error}`);
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: PublishFailure.Compensated,
      message: error,
      nonRetryable: true,
      cause: err as Error,
      details: [{ compensations }],
    });
  }
  setStage('published', `**Published** to ${v.destination} (approved ${by}): stored, notified, indexed.`);
  return result('published');
}
