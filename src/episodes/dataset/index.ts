/** Episode datasets: Parquet files of demonstrations and rollouts (docs/datasets.md). */
export type { DatasetExpectation } from './expectation.js';
export { transitionSizes } from './metadata.js';
export { type DatasetContents, type EpisodeDetails, readDataset, readEpisodeFile } from './reader.js';
export type {
  DatasetMeta,
  DatasetMetaInput,
  EpisodeMeta,
  EpisodeStart,
  FieldSize,
} from './schema.js';
export { EPISODES_DIR, FORMAT_VERSION } from './schema.js';
export {
  DatasetWriter,
  type DatasetWriterOptions,
  type EpisodeStartInput,
  type WriteEpisodeDataOptions,
  type WrittenEpisode,
  writeEpisodeData,
} from './writer.js';
