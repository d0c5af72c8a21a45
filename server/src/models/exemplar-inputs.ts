/**
 * The extra UNet inputs of an exemplar-conditioned model such as the built-in one: the loader
 * feeds them when a UNet declares them, and the built-in generator declares them.
 */

/** The extra UNet input through which the loader passes the clean surgical composite latent. */
export const REFERENCE_INPUT = 'reference_sample';
/** The extra UNet input through which the loader passes the clean source latent. */
export const SOURCE_INPUT = 'source_sample';
