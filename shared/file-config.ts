import { z } from 'zod';

/**
 * librechat.yaml's `fileConfig`, `fileStrategy` and `fileStrategies` (LibreChat's keys; sizes in MB), the
 * limits the server enforces from them (bytes, compiled MIME patterns, LibreChat's defaults from
 * librechat-data-provider's `fileConfig`), and the environment of the storage strategies and the upload
 * limiter. Read by the API (uploads) and by the workers (reading the stored files back).
 */

const MEGABYTE = 1024 * 1024;
export const mbToBytes = (mb: number) => Math.round(mb * MEGABYTE);

const mimePattern = z.string().refine(
  (pattern) => {
    try {
      new RegExp(pattern);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a valid regular expression' },
);

const endpointFileConfigSchema = z.looseObject({
  disabled: z.boolean().optional(),
  fileLimit: z.number().min(0).optional(),
  fileSizeLimit: z.number().min(0).optional(),
  totalSizeLimit: z.number().min(0).optional(),
  supportedMimeTypes: z.array(mimePattern).optional(),
});

/** The YAML section as written; `GET /api/files/config` sends it as is and the client merges it with its defaults. */
export const fileConfigSchema = z.looseObject({
  endpoints: z.record(z.string(), endpointFileConfigSchema).optional(),
  serverFileSizeLimit: z.number().min(0).optional(),
  avatarSizeLimit: z.number().min(0).optional(),
  fileTokenLimit: z.number().min(0).optional(),
  imageGeneration: z.looseObject({ percentage: z.number().min(0).max(100).optional(), px: z.number().min(0).optional() }).optional(),
  clientImageResize: z
    .looseObject({ enabled: z.boolean().optional(), maxWidth: z.number().min(1).optional(), maxHeight: z.number().min(1).optional(), quality: z.number().min(0).max(1).optional() })
    .optional(),
  ocr: z.looseObject({ supportedMimeTypes: z.array(mimePattern).optional() }).optional(),
  text: z.looseObject({ supportedMimeTypes: z.array(mimePattern).optional() }).optional(),
  stt: z.looseObject({ supportedMimeTypes: z.array(mimePattern).optional() }).optional(),
});
export type FileConfigSection = z.infer<typeof fileConfigSchema>;

/** LibreChat's FileSources that store bytes; durachat implements these two. */
export const fileStrategySchema = z.enum(['local', 's3'], { error: 'must be local or s3 (the storage strategies durachat implements)' });
export type FileStrategy = z.infer<typeof fileStrategySchema>;
export const fileStrategiesSchema = z.object({
  default: fileStrategySchema.optional(),
  avatar: fileStrategySchema.optional(),
  image: fileStrategySchema.optional(),
  document: fileStrategySchema.optional(),
});

/** The three top-level keys, for shared/endpoints-config.ts's file schema. */
export const fileSettingsYamlShape = {
  fileConfig: fileConfigSchema.optional(),
  fileStrategy: fileStrategySchema.optional(),
  fileStrategies: fileStrategiesSchema.optional(),
};

// LibreChat's default MIME lists (librechat-data-provider `supportedMimeTypes`).
const textMimeTypes = /^(text\/(x-c|x-csharp|tab-separated-values|x-c\+\+|x-h|x-java|html|markdown|x-php|x-python|x-script\.python|x-ruby|x-tex|plain|css|vtt|javascript|csv|xml|calendar))$/;
const excelMimeTypes = /^application\/(vnd\.ms-excel|msexcel|x-msexcel|x-ms-excel|x-excel|x-dos_ms_excel|xls|x-xls|vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet)$/;
const applicationMimeTypes =
  /^(application\/(epub\+zip|csv|json|msword|pdf|x-tar|x-sh|x-zip-compressed|typescript|sql|yaml|x-parquet|vnd\.apache\.parquet|vnd\.coffeescript|vnd\.openxmlformats-officedocument\.(wordprocessingml\.document|presentationml\.(presentation|template)|spreadsheetml\.sheet)|vnd\.oasis\.opendocument\.(text|spreadsheet|presentation|graphics)|xml|zip))$/;
const imageMimeTypes = /^image\/(jpeg|gif|png|webp|heic|heif)$/;
const audioMimeTypes = /^audio\/(mp3|mpeg|mpeg3|wav|wave|x-wav|ogg|vorbis|mp4|m4a|x-m4a|flac|x-flac|webm|aac|wma|opus)$/;
const videoMimeTypes = /^video\/(mp4|avi|mov|wmv|flv|webm|mkv|m4v|3gp|ogv)$/;
export const DEFAULT_SUPPORTED_MIME_TYPES: readonly RegExp[] = [
  textMimeTypes,
  excelMimeTypes,
  applicationMimeTypes,
  imageMimeTypes,
  videoMimeTypes,
  audioMimeTypes,
  /^image\/(svg|svg\+xml)$/,
  /^message\/rfc822$/,
];

export interface EndpointFileLimits {
  disabled: boolean;
  fileLimit: number;
  /** Bytes. */
  fileSizeLimit: number;
  /** Bytes. */
  totalSizeLimit: number;
  supportedMimeTypes: readonly RegExp[];
}

export interface FileLimits {
  /** Bytes: no upload may be larger, whatever the endpoint (LibreChat's multer limit). */
  serverFileSizeLimit: number;
  avatarSizeLimit: number;
  fileTokenLimit: number;
  /** The limits for an upload made for `endpoint` (LibreChat's lookup: the name, then `agents` for agents, then `default`). */
  forEndpoint(endpoint: string): EndpointFileLimits;
}

const DEFAULT_LIMITS: EndpointFileLimits = {
  disabled: false,
  fileLimit: 10,
  fileSizeLimit: mbToBytes(512),
  totalSizeLimit: mbToBytes(512),
  supportedMimeTypes: DEFAULT_SUPPORTED_MIME_TYPES,
};

function mergeEndpoint(section: z.infer<typeof endpointFileConfigSchema>, base: EndpointFileLimits): EndpointFileLimits {
  // LibreChat: a disabled endpoint takes nothing at all.
  if (section.disabled === true) return { disabled: true, fileLimit: 0, fileSizeLimit: 0, totalSizeLimit: 0, supportedMimeTypes: [] };
  return {
    disabled: section.disabled ?? base.disabled,
    fileLimit: section.fileLimit ?? base.fileLimit,
    fileSizeLimit: section.fileSizeLimit !== undefined ? mbToBytes(section.fileSizeLimit) : base.fileSizeLimit,
    totalSizeLimit: section.totalSizeLimit !== undefined ? mbToBytes(section.totalSizeLimit) : base.totalSizeLimit,
    supportedMimeTypes: section.supportedMimeTypes ? section.supportedMimeTypes.map((pattern) => new RegExp(pattern)) : base.supportedMimeTypes,
  };
}

export function resolveFileLimits(section: FileConfigSection | undefined): FileLimits {
  const endpoints = section?.endpoints ?? {};
  const fallback = endpoints.default ? mergeEndpoint(endpoints.default, DEFAULT_LIMITS) : DEFAULT_LIMITS;
  const resolved = new Map<string, EndpointFileLimits>();
  return {
    serverFileSizeLimit: section?.serverFileSizeLimit !== undefined ? mbToBytes(section.serverFileSizeLimit) : mbToBytes(512),
    avatarSizeLimit: section?.avatarSizeLimit !== undefined ? mbToBytes(section.avatarSizeLimit) : mbToBytes(2),
    fileTokenLimit: section?.fileTokenLimit ?? 100_000,
    forEndpoint(endpoint: string) {
      let limits = resolved.get(endpoint);
      if (!limits) {
        const own = Object.hasOwn(endpoints, endpoint) ? endpoints[endpoint] : undefined;
        limits = own ? mergeEndpoint(own, fallback) : fallback;
        resolved.set(endpoint, limits);
      }
      return limits;
    },
  };
}

/**
 * The most characters of a file's extracted text kept on its record for the prompt (`text`): well above the
 * default `fileTokenLimit` (100,000 tokens is about 400,000 characters of English) and far below MongoDB's
 * 16 MB document limit. A `fileTokenLimit` above about 250,000 tokens is therefore bounded by this too.
 */
export const STORED_TEXT_MAX_CHARS = 1_000_000;

export type FileKind = 'avatar' | 'image' | 'document';

export interface FilesConfig {
  /** The YAML `fileConfig` section as written (MB numbers, pattern strings), for the client. */
  section: FileConfigSection;
  limits: FileLimits;
  /** The storage strategy for a kind of file: `fileStrategies.<kind>`, then `.default`, then `fileStrategy`, then local. */
  strategyFor(kind: FileKind): FileStrategy;
  /** Every strategy some kind of file uses (the ones whose settings must be present). */
  strategies: FileStrategy[];
}

export function resolveFilesConfig(yaml: { fileConfig?: FileConfigSection; fileStrategy?: FileStrategy; fileStrategies?: z.infer<typeof fileStrategiesSchema> }): FilesConfig {
  const strategyFor = (kind: FileKind): FileStrategy => yaml.fileStrategies?.[kind] ?? yaml.fileStrategies?.default ?? yaml.fileStrategy ?? 'local';
  return {
    section: yaml.fileConfig ?? {},
    limits: resolveFileLimits(yaml.fileConfig),
    strategyFor,
    strategies: [...new Set((['avatar', 'image', 'document'] as const).map(strategyFor))],
  };
}

export const DEFAULT_FILES_CONFIG: FilesConfig = resolveFilesConfig({});

const booleanFromEnvironment = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');
const positiveInt = z.coerce.number().int().positive();

/**
 * The environment keys of files (to be merged into shared/config.ts's environmentSchema): the S3 strategy's
 * settings (AWS's own key names for the credentials, as LibreChat) and LibreChat's upload limiter.
 */
export const fileEnvironmentSchema = z.object({
  S3_BUCKET: z.string().min(3).optional(),
  /** LibreChat's AWS_REGION; S3_REGION wins when both are set. */
  S3_REGION: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  /** LibreChat's AWS_ENDPOINT_URL; any S3-compatible server. */
  S3_ENDPOINT: z.url().optional(),
  AWS_ENDPOINT_URL: z.url().optional(),
  S3_FORCE_PATH_STYLE: booleanFromEnvironment.optional(),
  AWS_BUCKET_NAME: z.string().min(3).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  S3_KEY_PREFIX: z.string().regex(/^([A-Za-z0-9_.-]+\/)*$/, 'must be empty or end with /').default('uploads/'),
  FILE_UPLOAD_IP_MAX: positiveInt.default(100),
  FILE_UPLOAD_IP_WINDOW: positiveInt.default(15),
  FILE_UPLOAD_USER_MAX: positiveInt.default(50),
  FILE_UPLOAD_USER_WINDOW: positiveInt.default(15),
});
export type FileEnvironment = z.infer<typeof fileEnvironmentSchema>;

export class FileSettingsError extends Error {}

export function loadFileEnvironment(source: Record<string, string | undefined>): FileEnvironment {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== '' && value !== undefined));
  const parsed = fileEnvironmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new FileSettingsError(`Invalid configuration:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`);
  }
  return parsed.data;
}

/** The S3 strategy's settings; throws when the strategy is used without a bucket or with half a key pair. */
export function s3SettingsFrom(environment: FileEnvironment) {
  const bucket = environment.S3_BUCKET ?? environment.AWS_BUCKET_NAME;
  if (!bucket) throw new FileSettingsError('Invalid configuration:\n  S3_BUCKET: required when fileStrategy is s3');
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = environment;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new FileSettingsError('Invalid configuration:\n  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: set both, or neither to use the default credential chain');
  }
  const endpoint = environment.S3_ENDPOINT ?? environment.AWS_ENDPOINT_URL;
  return {
    bucket,
    region: environment.S3_REGION ?? environment.AWS_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    // A custom endpoint is usually a server without virtual-host buckets (MinIO, a test server).
    forcePathStyle: environment.S3_FORCE_PATH_STYLE ?? Boolean(endpoint),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(environment.AWS_SESSION_TOKEN ? { sessionToken: environment.AWS_SESSION_TOKEN } : {}) } } : {}),
    keyPrefix: environment.S3_KEY_PREFIX,
  };
}
