//! A rotation-invariant texture task: classify small patches of brick, grass and gravel.
//!
//! The three CC0 scikit-image textures are embedded at 256×256, grayscale, `[0, 1]`
//! ([`embedded_textures`]). [`texture_patches`] cuts random square patches, rotates them about
//! their centre and labels them with their texture. Training patches come from the upper half of
//! each image and test patches from the lower half, so no pixel is shared between the two sets.
//!
//! For continuous rotations a larger window is cropped, rotated and its centre kept, so that no
//! rotated patch reads outside the texture: every output pixel is interpolated from real texture.

use ndarray::{Array4, ArrayView3, Axis, Slice};
use ndarray_npy::ReadNpyExt;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::compressed::gunzip_if_needed;
use crate::image_rotation::{ImageRotation, RotationMode};
use crate::split::seeded_rng;
use crate::{DatasetError, LabelledImages, RotatedImages, RotatedSplit};

const TEXTURES_NPY_GZ: &[u8] = include_bytes!("../data/textures.npy.gz");

/// The texture classes, in label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Texture {
    /// `skimage.data.brick()` (CC0Textures "Bricks25").
    Brick,
    /// `skimage.data.grass()` (DeviantArt linolafett, "Grass 01").
    Grass,
    /// `skimage.data.gravel()` (CC0Textures "Gravel04").
    Gravel,
}

impl Texture {
    /// All textures in label order.
    pub const ALL: [Texture; 3] = [Texture::Brick, Texture::Grass, Texture::Gravel];
    /// The class name (`"brick"`, `"grass"`, `"gravel"`).
    pub fn name(self) -> &'static str {
        match self {
            Texture::Brick => "brick",
            Texture::Grass => "grass",
            Texture::Gravel => "gravel",
        }
    }
}

/// The three embedded textures as labelled images `(3, 256, 256, 1)`, `u8/255`, labels 0, 1, 2
/// (brick, grass, gravel). Downscaled 2× from scikit-image 0.26.0's 512×512 CC0 images.
pub fn embedded_textures() -> Result<LabelledImages, DatasetError> {
    const NAME: &str = "embedded textures";
    let bytes = gunzip_if_needed(TEXTURES_NPY_GZ.to_vec(), NAME)?;
    let raw = ndarray::Array3::<u8>::read_npy(bytes.as_slice()).map_err(|e| DatasetError::Npy {
        source_name: NAME.into(),
        array: "textures".into(),
        reason: e.to_string(),
    })?;
    let (n, h, w) = raw.dim();
    let images = raw
        .mapv(|v| f64::from(v) / 255.0)
        .into_shape_with_order((n, h, w, 1))
        .expect("same size");
    LabelledImages::new(
        images,
        (0..n).collect(),
        Texture::ALL.iter().map(|t| t.name().to_string()).collect(),
    )
}

/// Parameters of [`texture_patches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TexturePatchConfig {
    /// Side `S` of the square patches. Default 16.
    pub patch_size: usize,
    /// Training patches (classes balanced: patch `i` has class `i mod K` before shuffling).
    pub n_train: usize,
    /// Test patches (balanced the same way).
    pub n_test: usize,
    /// Rotation of training patches.
    pub train_rotation: RotationMode,
    /// Rotation of test patches.
    pub test_rotation: RotationMode,
    /// Seed of crop positions, rotations and order.
    pub seed: u64,
}

impl Default for TexturePatchConfig {
    /// 16×16 patches, 300 training and 300 test, all continuously rotated, seed 0.
    fn default() -> Self {
        Self {
            patch_size: 16,
            n_train: 300,
            n_test: 300,
            train_rotation: RotationMode::Continuous,
            test_rotation: RotationMode::Continuous,
            seed: 0,
        }
    }
}

/// Random rotated patches `(N, S, S, C)` from source textures (one image per class, e.g.
/// [`embedded_textures`]): training patches from the upper half of each source image, test
/// patches from the lower half. Errors when a half is too small for the window a patch needs
/// (`S` for quarter turns, about `S√2 + 3` for continuous rotations).
pub fn texture_patches(
    textures: &LabelledImages,
    config: &TexturePatchConfig,
) -> Result<RotatedSplit, DatasetError> {
    DatasetError::at_least_one("patch size", config.patch_size)?;
    let mut rng = seeded_rng(config.seed);
    let train = draw_patches(
        textures,
        config,
        Half::Upper,
        config.n_train,
        config.train_rotation,
        &mut rng,
    )?;
    let test = draw_patches(
        textures,
        config,
        Half::Lower,
        config.n_test,
        config.test_rotation,
        &mut rng,
    )?;
    Ok(RotatedSplit { train, test })
}

/// [`texture_patches`] on the embedded textures.
pub fn embedded_texture_patches(config: &TexturePatchConfig) -> Result<RotatedSplit, DatasetError> {
    texture_patches(&embedded_textures()?, config)
}

#[derive(Clone, Copy)]
enum Half {
    Upper,
    Lower,
}

/// The side of the window cropped before rotating so that the central `S×S` block of the
/// rotated window never samples outside it: `S + 2m` with `(S + 2m − 1)/2 ≥ (S − 1)/√2 + 1`
/// (half-diagonal of the patch plus one pixel for bilinear interpolation).
fn window_size(patch: usize, mode: RotationMode) -> usize {
    match mode {
        RotationMode::None | RotationMode::QuarterTurns => patch,
        RotationMode::Continuous => {
            let needed = (patch as f64 - 1.0) * std::f64::consts::SQRT_2 + 3.0;
            let margin = ((needed - patch as f64) / 2.0).ceil().max(0.0) as usize;
            patch + 2 * margin
        }
    }
}

fn draw_patches<R: Rng>(
    textures: &LabelledImages,
    config: &TexturePatchConfig,
    half: Half,
    count: usize,
    mode: RotationMode,
    rng: &mut R,
) -> Result<RotatedImages, DatasetError> {
    let (h, w, c) = textures.image_shape();
    let (row_start, row_end) = match half {
        Half::Upper => (0, h / 2),
        Half::Lower => (h / 2, h),
    };
    let patch = config.patch_size;
    let window = window_size(patch, mode);
    if window > row_end - row_start || window > w {
        return Err(DatasetError::invalid(
            "patch size",
            format!(
                "a {patch}×{patch} patch with {mode:?} rotations needs a {window}×{window} window, \
                 larger than the {}×{w} half-texture it is cut from",
                row_end - row_start
            ),
        ));
    }
    let mut labels: Vec<usize> = (0..count).map(|i| i % textures.num_classes()).collect();
    labels.shuffle(rng);
    let mut images = Array4::zeros((count, patch, patch, c));
    let mut angles = Vec::with_capacity(count);
    for (n, &label) in labels.iter().enumerate() {
        let source = textures.images().index_axis(Axis(0), label);
        let top = rng.random_range(row_start..=row_end - window);
        let left = rng.random_range(0..=w - window);
        let crop = crop_square(source, top, left, window);
        let rotation = mode.draw(rng);
        let rotated = match rotation {
            ImageRotation::QuarterTurns(_) => rotation.apply(crop)?,
            ImageRotation::Angle(_) => {
                let margin = (window - patch) / 2;
                crop_square(rotation.apply(crop)?.view(), margin, margin, patch).to_owned()
            }
        };
        images.index_axis_mut(Axis(0), n).assign(&rotated);
        angles.push(rotation.angle());
    }
    Ok(RotatedImages {
        images: LabelledImages::new(images, labels, textures.class_names().to_vec())?,
        angles,
    })
}

/// The `side × side` block of `image` whose top-left pixel is `(top, left)`.
fn crop_square(
    image: ArrayView3<'_, f64>,
    top: usize,
    left: usize,
    side: usize,
) -> ArrayView3<'_, f64> {
    image
        .slice_axis_move(Axis(0), Slice::from(top..top + side))
        .slice_axis_move(Axis(1), Slice::from(left..left + side))
}
