import { NotFoundError } from '../../shared/errors.ts';
import { User } from '../../shared/models/index.ts';

/** One pinned item: an agent (`agentId`), a model (`model` with `endpoint`) or a model spec (`spec`). */
export interface Favorite {
  agentId?: string;
  model?: string;
  endpoint?: string;
  spec?: string;
}

/** The most favorites a user keeps; LibreChat's limit, which its client also enforces. */
export const MAX_FAVORITES = 50;

type LeanFavorites = { favorites?: Favorite[] | null };

/** Each user's favorites, kept on their user document as LibreChat keeps them; the client replaces the whole list. */
export function createFavoritesService() {
  async function list(userId: string): Promise<Favorite[]> {
    const user = await User.findById(userId).select('favorites').lean<LeanFavorites>();
    if (!user) throw new NotFoundError('User not found');
    return Array.isArray(user.favorites) ? user.favorites : [];
  }

  return {
    list,

    /** Answers the list as stored: a write, then a read, because FerretDB (the local stack) has no
     * projection on findAndModify. */
    async replace(userId: string, favorites: Favorite[]): Promise<Favorite[]> {
      const { matchedCount } = await User.updateOne({ _id: userId }, { $set: { favorites } });
      if (matchedCount === 0) throw new NotFoundError('User not found');
      return list(userId);
    },
  };
}

export type FavoritesService = ReturnType<typeof createFavoritesService>;
