"""FixMatch (Sohn et al., 2020): the default job.

Run:  python launch.py --config=configs/fixmatch.py --workdir=runs/fixmatch_digits
      python launch.py --config=configs/fixmatch.py:cifar10,labels=40,seed=1 --workdir=runs/fm40
Presets: digits (default; a few minutes on 2 CPU cores), cifar10 (labels 40/250/4000),
svhn (40/250/1000), cifar100 (400/2500/10000), stl10 (1000 per fold, or 5000),
folder=/path; then labels=N, seed=S.

Paper hyperparameters (Sohn et al., 2020, Sec. 4 and the appendix's hyperparameter list):
confidence threshold tau = 0.95, unlabeled weight lambda_u = 1, mu = 7
unlabeled images per labeled one, B = 64, SGD with Nesterov momentum 0.9,
learning rate 0.03 decayed as eta cos(7 pi k / (16 K)) over K = 2^20 steps,
weight decay 5e-4 (1e-3 on CIFAR-100), EMA 0.999 of the parameters for
evaluation; WRN-28-2 on CIFAR-10 and SVHN, WRN-28-8 on CIFAR-100. The paper's
STL-10 network (a 37-layer WRN variant) is not in jaxssl.models, so stl10
uses WRN-28-2. The strong view is RandAugment with random magnitudes plus
Cutout (the paper's RA variant).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "fixmatch"
  config.method.threshold = 0.95
  config.method.unlabeled_weight = 1.0
  # The paper's RA variant; "ctaugment" is its CTA variant (CTAugment's learned bins, Cutout).
  config.method.strong_augment = "randaugment"
  # Each RandAugment op applied with this probability; Cutout's side at least this fraction.
  # 1 and 0 are the paper's Table 12; the reference code's RandAugment is 0.5 and 0.5.
  config.method.strong_op_probability = 1.0
  config.method.cutout_min_fraction = 0.0
  # "centred": shears and rotations about the centre, bilinear; "reference": the reference
  # code's PIL geometry (shears about the top-left corner, whole-pixel shifts, nearest pixel).
  config.method.strong_geometry = "centred"
  # FixMatch + DA (ReMixMatch's distribution alignment), off in the paper's FixMatch.
  config.method.distribution_alignment = False
  config.method.alignment_momentum = 0.999
  # B, mu, the optimizer and schedule, the EMA and the strong view (RandAugment with
  # every op's magnitude drawn from its full range, Cutout of at most half the side).
  presets.fixmatch_protocol(config)

  if presets.is_digits(config):
    _digits(config)
  return config


def _digits(config):
  """8x8 grey digits on 2 CPU cores: minutes, not days (tuned here, not a paper's setting).

  The paper's loss, threshold, mu, optimizer and schedule shape are kept; B,
  steps and the EMA decay shrink to fit a few thousand steps, and the weight
  decay grows (below).

  The strong view is milder than the paper's: RandAugment at a fixed half of
  every op's range (magnitude 0.5) instead of a random magnitude over the full
  range, with the paper's Cutout. On 8x8 images the full ranges often wreck
  the digit (a rotation of 30 degrees, a 30% translation, a full solarize or
  a near-black brightness): a model trained on all 1,437 labels classifies
  full-strength strong views at 62% against 99% on clean ones, and FixMatch
  with them stalls at 88% test accuracy on 20 labels.

  Distribution alignment (ReMixMatch's, momentum 0.99: a horizon of ~100 of
  the 2,000 steps) is on. Plain FixMatch is right on most seeds but not all:
  with the labeled split of seed 0 and training seed 101 it ends at 80.6%,
  below LabelSpreading's 81.7% on the same labels, because it confirms an
  early mistake: it almost never predicts "1" (3 of 36 test images; the rest
  go to "7" and "8") and sends half the "5"s to "6". Alignment divides each
  pseudo-label by the model's running class marginal, so a class the model
  under-predicts is pulled back up before the threshold; the same run ends at
  95.6%. Checked on split seeds 50-59 and training seeds 60-62 (not the seeds
  reported in benchmarks/results/fixmatch_digits_seeds.md): ahead of
  LabelSpreading on all ten of those splits.

  Weight decay is 1e-2, twenty times the paper's 5e-4. With two labeled
  images a class, the network can fit an atypical labeled image as an
  exception while the unlabeled images around it take another label; a
  larger decay makes such exceptions costlier. Raised in two steps, each
  chosen on tuning seeds by a rule written down before the reported runs
  (benchmarks/results/fixmatch_digits_seeds.md):
  - 5e-4 -> 5e-3, on tuning splits 50-59 and training seeds 60-64: mean over
    the ten splits 94.6 -> 95.2%, split 54 89.4 -> 98.6% (its 1s, called "6"
    at 5e-4, all right), split 53 83.9 -> 85.0%. Then ahead of
    LabelSpreading on reported splits 0-9 and on 14 of 15 held-out splits,
    but behind on held-out split 406 (82.2% against 88.3%: one of its labeled
    8s sits among the 1s; the 1s' cluster went partly to "8", the 8s to "3").
  - 5e-3 -> 1e-2, on the two splits it lost or nearly lost, 53 and 406 (both
    now tuning splits): 85.0 -> 96.4% and 82.2 -> 91.4% (the 8s right again;
    15 of 36 test 1s still "8"); 2e-2 gives 88.9% on 406, so 1e-2, the
    smaller. Checked on tuning splits 50-59: ahead of LabelSpreading on all
    ten (worst margin +3.6 points), mean 95.2 -> 95.5%.
  Run once after the choice: ahead of LabelSpreading on reported splits 0-9
  (worst 95.3%) and on held-out splits 500-509 (worst 88.3%, split 506,
  whose 9s go to "5"; LabelSpreading 79.7%), training seeds 1-5 on split 0
  at 95.3-96.4%.

  At 5e-4 it did not rescue every split or seed. Training seed 3 on split 0 ended
  at 92.2% (96.7% before a change of rounding: one run of this preset is
  2-4 points from another). On reported split seed 9 (85.0%; 84.7% before,
  below LabelSpreading's 86.1%) and tuning split 53 (83.9%) the labeled 3s are
  atypical (one a narrow stroke). A supervised model on split 53's 20 labels
  gets 6 of the 37 test 3s right (19 go to "5"); on split 9 it sends 7 of
  them to "9" and 7 of the 1s to "3". FixMatch then ties the 3s' cluster to
  the wrong label: 28 of split 53's 3s end as "9" and 17 of its 1s as "3"
  (split 9: 25 and 14). Alignment cannot undo it: the class marginal stays
  balanced ("3" takes the 1s that "1" loses), and the wrong pseudo-labels
  pass the threshold after the rescaling. Nothing else tried on split 53 moved
  it out of 79-86%: Cutout at most a quarter of the side or none (82.8, 84.7%),
  threshold 0.98 or 0.8 (81.7; 84.4% when stopped at step 1,250), strong
  magnitude 0.3 (85.8%), weight decay 5e-3 (85.0%), width 64 (84.7% at step
  1,750), class prices that force an equal share of pseudo-labels per class
  (73.3 and 76.4% at step sizes 0.05 and 0.01: the 3s stay "9", the 9s
  become "1" and the 1s "3", a balanced permutation), a strong view of the labeled images
  in the supervised term (83.9%; with weight decay 5e-3 79.2%), FlexMatch's
  and FreeMatch's class-wise thresholds (84.7, 81.1%). Linking an atypical
  labeled image to its class's cluster needs more than a threshold or an
  augmentation (LabelSpreading does it through pixel-space neighbours):
  CoMatch, which smooths pseudo-labels over embedding neighbours, reaches
  91.7% on split 53 at its untuned digits preset (SimMatch 83.3%), and
  97.8% on split 9.

  What did move it is the larger weight decay above: 1e-2 takes it to 96.4%.
  """
  presets.fixmatch_digits(config)
  config.method.distribution_alignment = True
  config.method.alignment_momentum = 0.99
  # 20x the paper's weight decay: see "Weight decay" in the docstring above.
  config.optimizer.weight_decay = 1e-2
