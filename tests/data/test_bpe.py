import io
import pickle
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import asrlab
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.text.bpe import MODEL_FILE, BPETokenizer, BPETokenizerSpec
from asrlab.text.tokenizer import CharTokenizer, tokenizer_from_state_dict

CONF = Path(asrlab.__file__).parent / "conf"
TEXTS = [
    "Zero one two three four five six seven eight nine.",
    "Nine, eight, seven! It's well-known: six five four three two one zero.",
    "one one two two three three",
    "seven eight nine zero",
]


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train(TEXTS, vocab_size=48)


def test_ids_are_sentencepiece_pieces_with_blank_zero(tok: BPETokenizer) -> None:
    assert tok.blank_id == 0 and tok.vocab[:2] == ["<blank>", "<unk>"]
    assert tok.vocab_size == len(tok.vocab) == 48
    assert tok.alphabet == "".join(sorted(set(" ".join(map(tok.normalize, TEXTS)))))


def test_encode_decode_round_trip_of_normalised_text(tok: BPETokenizer) -> None:
    for text in [*TEXTS, "  Zero, zero - ONE  "]:
        ids = tok.encode(text)
        assert ids and 0 not in ids and tok.unk_id not in ids
        assert tok.decode(ids) == tok.normalize(text)
    assert tok.encode("zero") == [tok.vocab.index("▁zero")]
    assert tok.encode("") == [] and tok.decode([0, tok.unk_id, 0]) == ""


def test_unknown_characters_are_named(tok: BPETokenizer) -> None:
    assert tok.unknown_chars("route 66") == {"6"}
    assert tok.unknown_chars("Été") == set()  # normalised to "ete" first
    with pytest.raises(ValueError, match=r"\['6', 'a'\]"):
        tok.encode("Route 66, again")


def test_spellings_are_the_pieces_of_the_words_in_a_sentence(tok: BPETokenizer) -> None:
    sentence = "seven eight one zero it's"
    pieces = [p for word in sentence.split() for p in tok.spell(word)]
    assert pieces == [tok.vocab[i] for i in tok.encode(sentence)]
    assert all(tok.spell(w)[0].startswith("▁") for w in sentence.split())
    with pytest.raises(ValueError, match="one word"):
        tok.spell("well-known")


def test_training_is_deterministic_and_respects_vocab_size() -> None:
    assert BPETokenizer.train(TEXTS, 40).vocab == BPETokenizer.train(TEXTS, 40).vocab
    assert BPETokenizer.train(TEXTS, 40).vocab_size == 40
    assert BPETokenizer.train(["one two"], 1000).vocab_size < 1000  # all the text allows
    assert BPETokenizer.train(["one two"], 8).vocab_size == 8
    with pytest.raises(ValueError, match="at least 8"):  # o n e t w, space, blank, unk
        BPETokenizer.train(["one two"], 7)
    with pytest.raises(ValueError, match="no transcripts"):
        BPETokenizer.train(["", "?!"], 64)


def test_state_dict_round_trip_through_torch_save(tok: BPETokenizer) -> None:
    buffer = io.BytesIO()
    torch.save({"tokenizer": tok.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["tokenizer"]
    restored = tokenizer_from_state_dict(state)
    assert isinstance(restored, BPETokenizer) and restored.vocab == tok.vocab
    assert restored.encode(TEXTS[1]) == tok.encode(TEXTS[1])
    assert pickle.loads(pickle.dumps(tok)).encode(TEXTS[1]) == tok.encode(TEXTS[1])  # workers
    char = tokenizer_from_state_dict(CharTokenizer(alphabet="ab ").state_dict())
    assert isinstance(char, CharTokenizer) and char.alphabet == "ab "


def test_spec_from_config_trains_and_saves_the_model(tmp_path: Path) -> None:
    spec = instantiate(OmegaConf.load(CONF / "tokenizer" / "bpe.yaml"))
    assert spec == BPETokenizerSpec(vocab_size=64)
    tok = spec.train(TEXTS, model_dir=tmp_path)
    saved = BPETokenizer((tmp_path / MODEL_FILE).read_bytes())
    assert saved.vocab == tok.vocab == BPETokenizer.train(TEXTS, 64).vocab


def test_a_model_with_sentencepiece_default_ids_is_refused() -> None:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXTS), model_writer=model, vocab_size=40, minloglevel=2
    )
    with pytest.raises(ValueError, match="ids 0 and 1 must be <blank> and <unk>"):
        BPETokenizer(model.getvalue())


def test_greedy_decoding_of_encoded_text_gives_it_back(tok: BPETokenizer) -> None:
    text = "one one two two three three"
    ids = tok.encode(text)
    assert ids[0] == ids[1]  # a repeat, which CTC can only express with a blank between
    path = [0]
    for token in ids:
        path += [0, token, token] if token == path[-1] else [token, token]
    probs = torch.full((1, len(path), tok.vocab_size), 1e-4)
    probs[0, torch.arange(len(path)), path] = 1.0
    texts = GreedyDecoder(tok).decode(probs.log_softmax(-1), torch.tensor([len(path)]))
    assert texts == [text]
