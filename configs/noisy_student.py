"""Noisy Student (Xie et al., 2020): teacher, then noised equal-or-larger students, in one run.

Run:  python launch.py --config=configs/noisy_student.py --workdir=runs/ns_digits
      python launch.py --config=configs/noisy_student.py:cifar10,labels=4000 --workdir=runs/ns
Presets: digits (default; a few minutes on 2 CPU cores), cifar10, svhn, cifar100,
stl10, folder=/path; then labels=N, seed=S.

One invocation trains the teacher (workdir/round0_teacher) and
`noisy_student.rounds` students (round1_student, ...): config.runner is
"noisy_student" (jaxssl.stages, jaxssl.self_training).
Rerunning the command resumes the unfinished round.

From the paper (Sec. 2, 3 and 4): the student is noised with RandAugment
(N = 2 ops at a fixed magnitude M = 27 of 30, i.e. 0.9 here), dropout 0.5 on
the final layer and stochastic depth with survival probability 0.8 for the
last block (rate 0.2 here); the teacher labels the unlabeled images without
noise; soft pseudo-labels; each student is larger than its teacher
(EfficientNet-B7 -> L0 -> L1 -> L2; here WRN-28-2 -> 28-4 -> 28-6 by width),
and the unlabeled batch is larger than the labeled one. Confidence filtering
and class balancing of the pseudo-labels are options (the paper filters at
0.3 and balances to 130K images per class on JFT).
Toggle with --config.noisy_student.<field>=..., e.g.
--config.noisy_student.pseudo_label=hard, --config.noisy_student.class_balance=True,
--config.noisy_student.model_sizes="(32,32,32)"; the noise with
--config.method.randaugment_magnitude=... and --config.model.dropout_rate=....
"""

import ml_collections

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.runner = "noisy_student"
  config.noisy_student = ml_collections.ConfigDict(dict(
      rounds=2,                   # students after the teacher
      model_size_field="width",   # the config.model.kwargs entry that grows
      model_sizes=(2, 4, 6),      # one per model: teacher, student 1, student 2
      equal_or_larger=True,
      pseudo_label="soft",        # "soft": teacher softmax; "hard": its one-hot argmax
      confidence_threshold=0.0,   # keep pseudo-labels with max_c p_c >= this
      class_balance=False,
      images_per_class=0,         # with class_balance; 0: the mean count per class
      teacher_weights="ema",      # which weights of the previous round label the images
  ))
  method = config.method
  method.name = "noisy_student"
  method.randaugment_num_ops = 2
  method.randaugment_magnitude = 0.9

  config.model.dropout_rate = 0.5
  config.model.stochastic_depth_rate = 0.2
  config.batch_size = 64
  config.unlabeled_ratio = 7
  config.total_steps = 2**18          # per round
  config.eval_ema_decay = 0.999
  if config.preset == "cifar100":
    config.noisy_student.model_sizes = (8, 10, 12)

  if presets.is_digits(config):
    _digits(config)
  return config


def _digits(config):
  """8x8 grey digits on 2 CPU cores: small_cnn widths grow, rounds of a minute or so.

  A milder RandAugment than ImageNet's (magnitude 0.3): at 8x8 the full-range
  ops destroy most digits. With 20 labels the teacher is right on ~75% of the
  images, so its pseudo-labels are filtered (confidence >= 0.5), made hard
  and class-balanced, the paper's options for noisy teachers. The numbers were
  picked from the short runs in benchmarks/results/noisy_student_digits.md,
  not from the paper.
  """
  config.noisy_student.update(dict(model_sizes=(32, 48, 64), pseudo_label="hard",
                                   confidence_threshold=0.5, class_balance=True))
  config.method.randaugment_magnitude = 0.3
  config.model.dropout_rate = 0.3
  config.model.stochastic_depth_rate = 0.0  # small_cnn has no residual branches to drop
  config.batch_size = 32
  config.unlabeled_ratio = 4
  config.optimizer.learning_rate = 0.03
  presets.digits_run(config, total_steps=1500)
