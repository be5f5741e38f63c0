/**
 * One episode as columns ({@link RecordedEpisode}) ↔ one Arrow table, one row per step. Writing
 * builds the columns straight from the flat typed arrays; reading accepts what other tools may
 * write for the same schema (variable-size lists from pandas, int64 indices) and checks every
 * row against the sizes the metadata declares.
 */
import {
  Bool,
  DataType,
  Field,
  Float64,
  List,
  makeData,
  makeVector,
  Schema,
  Table,
  type Vector,
} from 'apache-arrow';
import { DatasetError } from '../../core/errors.js';
import type { Episode, RecordedEpisode } from '../episode.js';
import type { TransitionSizes } from '../step.js';
import { REQUIRED_COLUMNS, VECTOR_COLUMNS } from './schema.js';

/** Column name → the Episode field it fills. */
const VECTOR_FIELDS = {
  observation: 'observation',
  achieved_goal: 'achievedGoal',
  desired_goal: 'desiredGoal',
  action: 'action',
  next_observation: 'nextObservation',
  next_achieved_goal: 'nextAchievedGoal',
} as const satisfies Record<keyof typeof VECTOR_COLUMNS, keyof Episode>;

type VectorColumn = keyof typeof VECTOR_COLUMNS;

function sizeOf(column: VectorColumn, sizes: TransitionSizes): number {
  return sizes[VECTOR_COLUMNS[column]];
}

/**
 * Vectors are stored as variable-size `list<float64>` with the size in the metadata, not as
 * fixed-size lists: pyarrow 25 cannot read a null fixed-size list back from Parquet ("Expected
 * all lists to be of size=4 but index 2 had size=0"), and `prior_action` has nulls.
 */
const vectorType = () => new List(new Field('item', new Float64(), false));

/** A list column over a flat array of `size` values a row; `valid` marks non-null rows (all when absent). */
function vectorColumn(flat: Float64Array, size: number, length: number, valid?: Uint8Array): Vector {
  const valueOffsets = new Int32Array(length + 1);
  let values = flat;
  if (valid) {
    // Null rows hold no values: keep only the valid rows' vectors.
    values = new Float64Array(valid.reduce((n, v) => n + (v ? size : 0), 0));
    let end = 0;
    for (let t = 0; t < length; t++) {
      if (valid[t]) {
        values.set(flat.subarray(t * size, t * size + size), end);
        end += size;
      }
      valueOffsets[t + 1] = end;
    }
  } else {
    for (let t = 0; t <= length; t++) valueOffsets[t] = t * size;
  }
  const child = makeData({ type: new Float64(), length: values.length, data: values });
  const nullCount = valid ? valid.reduce((n, v) => n + (v ? 0 : 1), 0) : 0;
  return makeVector(
    makeData({
      type: vectorType(),
      length,
      nullCount,
      ...(valid ? { nullBitmap: packBits(valid) } : {}),
      valueOffsets,
      child,
    }),
  );
}

function boolColumn(values: Uint8Array): Vector {
  return makeVector(makeData({ type: new Bool(), length: values.length, data: packBits(values) }));
}

/** Arrow's validity and boolean buffers: one bit per row, least significant bit first. */
function packBits(values: Uint8Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return bits;
}

/** The Arrow table of one episode (columns in the documented order). */
export function episodeToTable(record: RecordedEpisode, episodeIndex: number, sizes: TransitionSizes): Table {
  const n = record.length;
  const fields: Field[] = [];
  const columns: Record<string, Vector> = {};
  const add = (name: string, vector: Vector, nullable = false) => {
    fields.push(new Field(name, vector.type, nullable));
    columns[name] = vector;
  };
  add('episode_index', makeVector(new Int32Array(n).fill(episodeIndex)));
  add('step', makeVector(Int32Array.from({ length: n }, (_, t) => t)));
  add('timestamp', makeVector(record.timeSec));
  for (const [column, field] of Object.entries(VECTOR_FIELDS) as [VectorColumn, keyof Episode][]) {
    add(column, vectorColumn(record[field] as Float64Array, sizeOf(column, sizes), n));
  }
  add('reward', makeVector(record.reward));
  add('terminated', boolColumn(record.terminated));
  add('truncated', boolColumn(record.truncated));
  add('prior_acted', boolColumn(record.priorActed));
  add('prior_action', vectorColumn(record.priorAction, sizes.action, n, record.hasPriorAction), true);
  if (record.sentAction) add('sent_action', vectorColumn(record.sentAction, sizes.action, n));
  if (record.safetyInterventions) add('safety_interventions', makeVector(record.safetyInterventions));
  return new Table(new Schema(fields), columns);
}

/**
 * The episode in `table`, checked: every required column present with its type, one row per
 * step in order, vectors of the declared sizes, finite numbers. `file` names it in errors.
 */
export function tableToEpisode(
  table: Table,
  expectedIndex: number,
  sizes: TransitionSizes,
  file: string,
): RecordedEpisode {
  const fail = (problem: 'missing_column' | 'column_type' | 'rows' | 'non_finite', message: string) =>
    new DatasetError('dataset_invalid', problem, file, message);
  const missing = REQUIRED_COLUMNS.filter((name) => !table.getChild(name));
  if (missing.length > 0) {
    throw fail('missing_column', `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  const n = table.numRows;
  if (n === 0) throw fail('rows', 'the episode has no rows');
  const column = (name: string) => table.getChild(name)!;

  const ints = (name: string) => {
    const vector = column(name);
    if (!DataType.isInt(vector.type))
      throw fail('column_type', `column ${name} is ${vector.type}, not an integer`);
    return Array.from({ length: n }, (_, t) => {
      const value = vector.get(t) as number | bigint | null;
      if (value === null) throw fail('rows', `${name} is null at row ${t}`);
      return Number(value);
    });
  };
  ints('episode_index').forEach((value, t) => {
    if (value !== expectedIndex)
      throw fail('rows', `row ${t} has episode_index ${value}, the file name says ${expectedIndex}`);
  });
  ints('step').forEach((value, t) => {
    if (value !== t)
      throw fail('rows', `rows out of order: row ${t} has step ${value} (steps must be 0, 1, 2…)`);
  });

  const floats = (name: string) => {
    const vector = column(name);
    if (!DataType.isFloat(vector.type))
      throw fail('column_type', `column ${name} is ${vector.type}, not a float`);
    const out = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      const value = vector.get(t) as number | null;
      if (value === null) throw fail('rows', `${name} is null at step ${t}`);
      if (!Number.isFinite(value)) throw fail('non_finite', `${name} is ${value} at step ${t}`);
      out[t] = value;
    }
    return out;
  };
  const bools = (name: string) => {
    const vector = column(name);
    if (!DataType.isBool(vector.type))
      throw fail('column_type', `column ${name} is ${vector.type}, not bool`);
    return Uint8Array.from({ length: n }, (_, t) => {
      const value = vector.get(t) as boolean | null;
      if (value === null) throw fail('rows', `${name} is null at step ${t}`);
      return value ? 1 : 0;
    });
  };
  /** Flat length × size values; `valid` (nullable columns only) receives 1 for non-null rows. */
  const vectors = (name: string, size: number, valid?: Uint8Array) => {
    const vector = column(name);
    const type = vector.type;
    // float32 too (what LeRobot and most Python tools write); the values are widened.
    if (
      !(DataType.isFixedSizeList(type) || DataType.isList(type)) ||
      !DataType.isFloat(type.children[0]!.type)
    ) {
      throw fail('column_type', `column ${name} is ${type}, not a list of floats`);
    }
    const out = new Float64Array(n * size);
    for (let t = 0; t < n; t++) {
      const row = vector.get(t) as Vector | null;
      if (row === null) {
        if (valid) continue;
        throw fail('rows', `${name} is null at step ${t}`);
      }
      if (row.length !== size) {
        throw fail('rows', `${name} has ${row.length} values at step ${t}, the metadata says ${size}`);
      }
      for (let i = 0; i < size; i++) {
        const value = row.get(i) as number | null;
        if (value === null || !Number.isFinite(value)) {
          throw fail('non_finite', `${name}[${i}] is ${value} at step ${t}`);
        }
        out[t * size + i] = value;
      }
      if (valid) valid[t] = 1;
    }
    return out;
  };

  const vectorValues = {} as Record<(typeof VECTOR_FIELDS)[VectorColumn], Float64Array>;
  for (const [name, field] of Object.entries(VECTOR_FIELDS) as [VectorColumn, keyof typeof vectorValues][]) {
    vectorValues[field] = vectors(name, sizeOf(name, sizes));
  }
  // Without the prior columns (demonstrations that never came from a prior): no prior action.
  const withPrior = table.getChild('prior_action') !== null;
  if (withPrior !== (table.getChild('prior_acted') !== null)) {
    const absent = withPrior ? 'prior_acted' : 'prior_action';
    throw fail('missing_column', `missing column ${absent} (prior_acted and prior_action go together)`);
  }
  const hasPriorAction = new Uint8Array(n);
  const priorAction = withPrior
    ? vectors('prior_action', sizes.action, hasPriorAction)
    : new Float64Array(n * sizes.action);
  const priorActed = withPrior ? bools('prior_acted') : new Uint8Array(n);
  priorActed.forEach((acted, t) => {
    if (acted && !hasPriorAction[t])
      throw fail('rows', `prior_acted is true at step ${t} but prior_action is null`);
  });
  const record: RecordedEpisode = {
    length: n,
    ...vectorValues,
    reward: floats('reward'),
    terminated: bools('terminated'),
    priorActed,
    priorAction,
    hasPriorAction,
    truncated: bools('truncated'),
    timeSec: floats('timestamp'),
  };
  if (table.getChild('sent_action')) record.sentAction = vectors('sent_action', sizes.action);
  if (table.getChild('safety_interventions')) {
    record.safetyInterventions = Int32Array.from(ints('safety_interventions'));
  }
  return record;
}
