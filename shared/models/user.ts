import mongoose, { Schema, type InferSchemaType } from 'mongoose';

export const SystemRoles = { ADMIN: 'ADMIN', USER: 'USER' } as const;

const userSchema = new Schema(
  {
    name: { type: String },
    username: { type: String, lowercase: true, default: '' },
    email: { type: String, required: true, lowercase: true, trim: true },
    emailVerified: { type: Boolean, required: true, default: false },
    password: { type: String, select: false },
    avatar: { type: String, default: null },
    provider: { type: String, required: true, default: 'local' },
    role: { type: String, default: SystemRoles.USER },
    twoFactorEnabled: { type: Boolean, default: false },
    termsAccepted: { type: Boolean, default: false },
    // Pinned agents, models and model specs, as LibreChat keeps them. Not selected by default: every
    // authenticated request loads the user, and only the favorites routes need these.
    favorites: {
      type: [{ _id: false, agentId: String, model: String, endpoint: String, spec: String }],
      default: undefined,
      select: false,
    },
  },
  { timestamps: true },
);
userSchema.index({ email: 1 }, { unique: true });

export type UserDocument = InferSchemaType<typeof userSchema> & { _id: mongoose.Types.ObjectId };
export const User = mongoose.models.User ?? mongoose.model('User', userSchema);

/** The shape `GET /api/user` and login answer: never the password hash, always `id`. */
export function toPublicUser(user: Record<string, unknown> & { _id: unknown }) {
  const { password: _password, __v: _version, ...rest } = user;
  return { ...rest, _id: String(user._id), id: String(user._id) };
}
