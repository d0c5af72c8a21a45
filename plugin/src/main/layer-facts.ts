import type { LayerRole } from '../messages/selection-summary.ts';
import type { Box } from './figma-surface.ts';
import type { Orientation } from './geometry.ts';

/** Everything role assignment needs to know about one selected layer, read once from the node. */
export interface LayerFacts {
  id: string;
  name: string;
  type: string;
  visible: boolean;
  /** Absolute bounding box; null when the layer renders nothing. */
  bounds: Box | null;
  orientation: Orientation;
  /** Frames, components, instances and sections: containers a designer blends into. */
  isFrameLike: boolean;
  /** Has a visible image fill. */
  isImage: boolean;
  /** Child indices from the page down (see comparePaintOrder). */
  paintPath: number[];
  /** Ids of every ancestor up to the page. */
  ancestorIds: string[];
  /** The role the designer chose for this layer earlier, remembered on the node. */
  chosenRole?: LayerRole;
  /** The exemplar order the designer chose, remembered on the node. */
  chosenOrder?: number;
}
