/** What a decoder may assume of a layer's alpha to pick its fastest exact path: a hint, never trusted. */
export type ExpectedAlpha = 'opaque' | 'transparent';
