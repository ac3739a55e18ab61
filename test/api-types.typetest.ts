// The public types (index.d.ts: hand-written, because the write-file-atomic-compatible
// default export is an `export =` function with the API attached, which declaration emit
// cannot produce from src/index.ts as it stands) checked against the implementation's
// types in src/ under `npm run typecheck`: a drift fails the build.
//
// `Same` (each side assignable to the other) is the rule. The rows compared one way only
// say why; tighten a row by moving it up to `Same` once both sides agree.
// Functions are compared by their last signature, which in index.d.ts is the local one.
import type * as D from '../index.js';
import type * as AtomicFileModule from '../src/file/atomic-file.js';
import type * as Target from '../src/args/target.js';
import type * as Dataset from '../src/dataset/index.js';
import type * as Errors from '../src/binding/errors.js';
import type * as Json from '../src/json/index.js';
import type * as Lock from '../src/lock/index.js';
import type * as ManifestModule from '../src/manifest/index.js';
import type * as Options from '../src/file/options.js';
import type * as Registry from '../src/formats/registry.js';
import type * as S3Client from '../src/store/s3/client.js';
import type * as Store from '../src/store/index.js';
import type * as StoreAdapter from '../src/store/adapter.js';
import type * as Probe from '../src/store/probe.js';
import type * as Sink from '../src/formats/sink.js';
import type * as ProgressModule from '../src/file/progress.js';
import type * as Source from '../src/file/source.js';
import type * as Stream from '../src/file/stream.js';
import type * as Sweep from '../src/file/sweep.js';
import type * as Write from '../src/formats/write.js';
import type * as WriteFile from '../src/file/write-file.js';

type Declared = typeof import('../index.js');
type Implemented = typeof import('../src/index.js');

/** Each assignable to the other, with the same member names (an extra optional member would not break assignability). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
type Fn = (...args: never[]) => unknown;
type SameFunction<A extends Fn, B extends Fn> = Same<Parameters<A>, Parameters<B>> extends true ? Same<Awaited<ReturnType<A>>, Awaited<ReturnType<B>>> : false;
/** The implementation takes every argument the declaration allows and returns what it promises. */
type Honours<Decl extends Fn, Impl extends Fn> = [Parameters<Decl>] extends [Parameters<Impl>] ? ([Awaited<ReturnType<Impl>>] extends [Awaited<ReturnType<Decl>>] ? true : false) : false;
/**
 * A class's public members: src/ classes have #private fields (which make a class nominal),
 * Writable's `_`-hooks are the stream's implementation, and `Internal` names the members
 * other src/ modules use that are not part of the API.
 */
type Public<T, Internal extends string = never> = { [K in keyof T as K extends `_${string}` | Internal ? never : K]: T[K] };
/** Compiles only when `T` is `true`; the error points at the row that drifted. */
function same<T extends true>(): T | void {}

// The values: the same names on both sides (nothing declared that is not there, nothing there undeclared).
same<Same<keyof Declared, keyof Implemented>>();

// The default export (write-file-atomic's function) and the entry points.
same<SameFunction<Declared, Implemented>>();
same<SameFunction<Declared['sync'], Implemented['sync']>>();
same<SameFunction<Declared['writeFileSync'], Implemented['writeFileSync']>>();
same<SameFunction<Declared['atomicWrite'], Implemented['atomicWrite']>>();
same<SameFunction<Declared['sweep'], Implemented['sweep']>>();
same<SameFunction<Declared['verify'], Implemented['verify']>>();
same<SameFunction<Declared['writeJson'], Implemented['writeJson']>>();
same<SameFunction<Declared['readJson'], Implemented['readJson']>>();
same<SameFunction<Declared['updateJson'], Implemented['updateJson']>>();
same<SameFunction<Declared['write'], Implemented['write']>>();
// One way: they return or take instances of the classes, which are compared below by their public members.
same<Honours<Declared['openAtomic'], Implemented['openAtomic']>>();
same<Honours<Declared['openAtomicSync'], Implemented['openAtomicSync']>>();
same<Honours<Declared['createWriteStream'], Implemented['createWriteStream']>>();
same<Honours<Declared['writeDataset'], Implemented['writeDataset']>>();
same<Honours<Declared['lock'], Implemented['lock']>>();
same<Honours<Declared['tryLock'], Implemented['tryLock']>>();
same<Honours<Declared['withLock'], Implemented['withLock']>>();
// One way: src/ types the data as any stream source (formats take row iterables too);
// the declaration names the chunks writeFile accepts (others are a TypeError at run time).
same<Honours<Declared['writeFile'], Implemented['writeFile']>>();
// One way: src/ takes the s3:// overload's options in the same signature; a local check takes none.
same<Honours<Declared['isComplete'], Implemented['isComplete']>>();
// One way: the declared plugin is a union (serialize or writeTo, not both); src/ keeps one
// record with both optional and refuses the others at run time.
same<Honours<Declared['registerFormat'], Implemented['registerFormat']>>();

// The classes, by their public members.
same<Same<Public<D.AtomicFile>, Public<AtomicFileModule.AtomicFile, 'commitAt' | 'trackChecksum' | 'digest' | 'nativeHandle'>>>();
same<Same<Public<D.FileLock>, Public<Lock.FileLock>>>();
same<Same<D.FileLockError, Lock.FileLockError>>();
same<Same<D.FileLockTimeoutError, Lock.FileLockTimeoutError>>();
// One way: their methods return stream instances (`end()` returns `this`), nominal in src/.
same<[Public<Stream.AtomicWriteStream>] extends [Public<D.AtomicWriteStream>] ? true : false>();
same<[Public<Store.RemoteWriteStream>] extends [Public<D.StoreWriteStream>] ? true : false>();
same<[Public<Dataset.Stage, 'settle' | 'close'>] extends [Public<D.DatasetStage>] ? true : false>();
same<Same<keyof Public<D.DatasetStage>, keyof Public<Dataset.Stage, 'settle' | 'close'>>>();
same<Same<keyof Public<D.AtomicWriteStream>, keyof Public<Stream.AtomicWriteStream>>>();

// The types.
same<Same<D.PathLike, Target.PathLike>>();
same<Same<D.WriteData, WriteFile.WriteData>>();
same<Same<D.Chown, Options.Chown>>();
same<Same<D.WriteOptions, Options.WriteOptions>>();
same<Same<D.OpenOptions, AtomicFileModule.OpenOptions>>();
same<Same<D.SweepOptions, Sweep.SweepOptions>>();
// The store's options are checked at run time by name (STORE_OPTION_NAMES): src/ types
// them as unknown values, so the names are what can drift.
same<Same<Exclude<keyof D.StoreOptions, 'stagingDir'>, keyof StoreAdapter.StoreOptions>>(); // stagingDir: read by store/index.ts (STORE_NAMES), not an adapter option
same<Same<D.StoreResult, StoreAdapter.StoreResult>>();
same<Same<D.ProbeResult, Probe.ProbeResult>>();
same<Same<D.S3ClientLike, S3Client.S3ClientLike>>();
same<Same<D.LockRange, Lock.LockRange>>();
same<Same<D.LockOptions, Lock.LockOptions>>();
same<Same<D.WriteJsonOptions, Json.WriteJsonOptions>>();
same<Same<D.ReadJsonOptions, Json.ReadJsonOptions>>();
same<Same<D.UpdateJsonOptions, Json.UpdateJsonOptions>>();
same<Same<D.JsonParseError, Json.JsonParseError>>();
same<Same<D.Progress, ProgressModule.Progress>>();
same<Same<D.ProgressOptions, ProgressModule.ProgressOptions>>();
same<Same<D.WriteStreamOptions, Stream.WriteStreamOptions>>();
same<Same<D.ManifestFile, ManifestModule.ManifestFile>>();
same<Same<D.Manifest, ManifestModule.Manifest>>();
same<Same<D.DatasetOptions, Dataset.DatasetOptions>>();
same<Same<D.PartOptions, Dataset.PartOptions>>();
same<Same<D.DatasetResult, Dataset.DatasetResult>>();
same<Same<D.VerifyProblem, ManifestModule.VerifyProblem>>();
same<Same<D.VerifyResult, ManifestModule.VerifyResult>>();
same<Same<D.VerifyOptions, ManifestModule.VerifyOptions>>();
same<Same<D.FormatWriteOptions, Write.FormatWriteOptions>>();
same<Same<D.WriteResult, Write.WriteResult>>();
same<Same<D.ByteSink, Sink.ByteSink>>();
// One way (inputs: every declared value is accepted): see writeFile and registerFormat above.
same<[D.StreamSource] extends [Source.StreamSource] ? true : false>();
same<[D.FormatPlugin] extends [Registry.FormatPlugin] ? true : false>();
// One way: AtomicWriteError is a disk error (errno always set); src's NodeStyleError also
// covers the argument errors, which have no errno.
same<[D.AtomicWriteError] extends [Errors.NodeStyleError] ? true : false>();
