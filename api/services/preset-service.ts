import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { Preset } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';

/** The most presets one user keeps; the client loads them all at start. */
export const MAX_PRESETS_PER_USER = 200;

/** LibreChat's order for presets without one: after the default preset (order 0) and any ordered ones. */
const UNORDERED = 10_000;

type LeanPreset = Record<string, unknown> & { presetId: string; order?: number; updatedAt: Date };

export interface PresetInput extends Record<string, unknown> {
  presetId?: string;
  defaultPreset?: boolean;
}

function presetView(preset: LeanPreset) {
  const { user: _user, ...rest } = publicDocument(preset);
  return rest;
}

/** Presets as LibreChat keeps them: saved whole by `presetId`, one of them optionally the user's default. */
export function createPresetService() {
  return {
    async list(userId: string) {
      const presets = await Preset.find({ user: userId }).lean<LeanPreset[]>();
      presets.sort((a, b) => (a.order ?? UNORDERED) - (b.order ?? UNORDERED) || new Date(b.updatedAt).getTime() - new Date(a.updatedAt).getTime());
      return presets.map(presetView);
    },

    /**
     * Creates, or replaces the fields sent of, the preset with this `presetId`. `defaultPreset: true` makes
     * it the default (order 0) and unsets the previous one; `false` unsets it. Another user's `presetId`
     * is answered 404: the id is unique across users, so it can neither be overwritten nor shadowed.
     */
    async save(userId: string, input: PresetInput) {
      const { presetId = randomUUID(), defaultPreset, ...fields } = input;
      const existing = await Preset.findOne({ presetId }).lean<LeanPreset & { user: string }>();
      if (existing && existing.user !== userId) throw new NotFoundError('Preset not found');
      const set: Record<string, unknown> = { ...fields };
      const unset: Record<string, ''> = {};
      if (defaultPreset === true) {
        Object.assign(set, { defaultPreset: true, order: 0 });
        await Preset.updateMany({ user: userId, defaultPreset: true, presetId: { $ne: presetId } }, { $unset: { defaultPreset: '', order: '' } });
      } else if (defaultPreset === false) {
        delete set.order;
        Object.assign(unset, { defaultPreset: '', order: '' });
      }
      if (!existing) {
        if ((await Preset.countDocuments({ user: userId })) >= MAX_PRESETS_PER_USER) {
          throw new ValidationError(`at most ${MAX_PRESETS_PER_USER} presets per user`);
        }
        try {
          await Preset.create({ ...set, presetId, user: userId });
        } catch (error) {
          // Created at the same moment by another request: its owner decides (ours is replaced below, theirs is a 404).
          if ((error as { code?: number }).code !== 11000) throw error;
        }
      }
      // Only non-empty operators: FerretDB refuses an empty `$set`.
      const update: Record<string, unknown> = {};
      if (Object.keys(set).length > 0) update.$set = set;
      if (Object.keys(unset).length > 0) update.$unset = unset;
      const saved = Object.keys(update).length > 0
        ? await Preset.findOneAndUpdate({ presetId, user: userId }, update, { returnDocument: 'after' }).lean<LeanPreset>()
        : await Preset.findOne({ presetId, user: userId }).lean<LeanPreset>();
      if (!saved) throw new NotFoundError('Preset not found');
      return presetView(saved);
    },

    /** One preset by id (404 when the user has none with it), or all of the user's without one. */
    async remove(userId: string, presetId?: string) {
      const result = await Preset.deleteMany(presetId ? { user: userId, presetId } : { user: userId });
      if (presetId && result.deletedCount === 0) throw new NotFoundError('Preset not found');
      return { acknowledged: true, deletedCount: result.deletedCount };
    },
  };
}

export type PresetService = ReturnType<typeof createPresetService>;
